// The dashboard's files (web/), built into the program by cmake/embed_files.cmake.
#pragma once

#include <span>
#include <string_view>

namespace utmpcd {

struct WebFile {
  std::string_view path;   // "/app.js"
  std::string_view bytes;  // the file
};
// Every file of web/ the build embedded, in the order CMake lists them.
std::span<const WebFile> WebFiles();

}  // namespace utmpcd
