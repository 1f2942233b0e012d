// A text column as sqlite3_exec hands it to wtmpdb and lastlog2: UTF-8 text up to its first
// NUL byte; nullopt for NULL. Shared by the readers of their databases (formats/wtmpdb.cc,
// formats/lastlog2.cc).
#pragma once

#include <sqlite3.h>

#include <cstring>
#include <optional>
#include <string>

namespace utmpcd::formats_internal {

inline std::optional<std::string> Text(sqlite3_stmt* s, int column) {
  if (sqlite3_column_type(s, column) == SQLITE_NULL) return std::nullopt;
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, column));
  if (text == nullptr) return std::string();
  const size_t bytes = static_cast<size_t>(sqlite3_column_bytes(s, column));
  return std::string(text, ::strnlen(text, bytes));
}

}  // namespace utmpcd::formats_internal
