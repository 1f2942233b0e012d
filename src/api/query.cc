#include "api/query.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "core/local_time.h"

namespace utmpcd {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded: %XX is a byte, '+' a space.
Result<std::string> Decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      int hi = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
      int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "malformed percent-escape in the request target");
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

Result<std::string> PercentDecode(std::string_view text) { return Decode(text, false); }

namespace {

// Reads exactly `n` digits at `pos`.
bool Digits(std::string_view s, size_t& pos, size_t n, int64_t& value) {
  if (pos + n > s.size()) return false;
  value = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  pos += n;
  return true;
}

bool Expect(std::string_view s, size_t& pos, std::string_view chars) {
  if (pos >= s.size() || chars.find(s[pos]) == std::string_view::npos) return false;
  ++pos;
  return true;
}

std::optional<int64_t> ParseRfc3339Us(std::string_view s) {
  size_t pos = 0;
  int64_t year, month, day, hour, minute, second;
  if (!Digits(s, pos, 4, year) || !Expect(s, pos, "-") || !Digits(s, pos, 2, month) ||
      !Expect(s, pos, "-") || !Digits(s, pos, 2, day) || !Expect(s, pos, "Tt ") ||
      !Digits(s, pos, 2, hour) || !Expect(s, pos, ":") || !Digits(s, pos, 2, minute) ||
      !Expect(s, pos, ":") || !Digits(s, pos, 2, second)) {
    return std::nullopt;
  }
  static constexpr int kDaysIn[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > kDaysIn[month - 1] || hour > 23 ||
      minute > 59 || second > 60) {
    return std::nullopt;
  }
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && day == 29 && !leap) return std::nullopt;
  if (second == 60) second = 59;  // a leap second: Unix time has none
  int64_t fraction_us = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t scale = 100000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      fraction_us += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start || pos - start > 9) return std::nullopt;
  }
  int64_t offset_s = 0;
  if (Expect(s, pos, "Zz")) {
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int64_t oh, om;
    if (!Digits(s, pos, 2, oh) || !Expect(s, pos, ":") || !Digits(s, pos, 2, om) || oh > 23 ||
        om > 59) {
      return std::nullopt;
    }
    offset_s = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  int64_t unix_s = UnixFromCivil(year, static_cast<int>(month), static_cast<int>(day),
                                 static_cast<int>(hour), static_cast<int>(minute),
                                 static_cast<int>(second)) -
                   offset_s;
  return unix_s * 1000000 + fraction_us;
}

}  // namespace

std::optional<int64_t> ParseApiTimeUs(std::string_view text) {
  if (!text.empty() && std::all_of(text.begin(), text.end(),
                                   [](char c) { return (c >= '0' && c <= '9') || c == '-'; })) {
    int64_t seconds = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    // Bounded so that microseconds fit in 64 bits (years -292,000 to 292,000).
    constexpr int64_t kMaxS = 9'000'000'000'000;
    if (ec != std::errc() || end != text.data() + text.size() || seconds > kMaxS ||
        seconds < -kMaxS) {
      return std::nullopt;
    }
    return seconds * 1000000;
  }
  return ParseRfc3339Us(text);
}

Result<Query> Query::Parse(std::string_view target) {
  if (target.empty() || target[0] != '/') {
    return MakeError(ErrorCode::kInvalidArgument, "the request target must start with '/'");
  }
  Query query;
  size_t question = target.find('?');
  auto path = Decode(target.substr(0, question), false);
  if (!path) return tl::unexpected(path.error());
  query.path_ = std::move(*path);
  if (question == std::string_view::npos) return query;
  std::string_view rest = target.substr(question + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto name = Decode(pair.substr(0, eq), true);
    if (!name) return tl::unexpected(name.error());
    auto value = Decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1),
                        true);
    if (!value) return tl::unexpected(value.error());
    query.params_.emplace_back(std::move(*name), std::move(*value));
  }
  return query;
}

Result<void> Query::OnlyKnown(std::initializer_list<std::string_view> known) const {
  for (const auto& [name, value] : params_) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      return MakeError(ErrorCode::kInvalidArgument,
                       "unknown parameter '" + name + "'" +
                           (list.empty() ? " (this endpoint takes none)"
                                         : " (this endpoint takes " + list + ")"));
    }
  }
  return {};
}

std::vector<std::string> Query::All(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [n, v] : params_) {
    if (n == name) values.push_back(v);
  }
  return values;
}

Result<std::optional<std::string>> Query::One(std::string_view name) const {
  std::optional<std::string> value;
  for (const auto& [n, v] : params_) {
    if (n != name) continue;
    if (value) {
      return MakeError(ErrorCode::kInvalidArgument, std::string(name) + ": given more than once");
    }
    value = v;
  }
  return value;
}

Result<int64_t> Query::Integer(std::string_view name, int64_t min, int64_t max,
                               int64_t fallback) const {
  auto text = One(name);
  if (!text) return tl::unexpected(text.error());
  if (!*text) return fallback;
  int64_t value = 0;
  const std::string& s = **text;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || value < min ||
      value > max) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{}: must be an integer from {} to {}", name, min, max));
  }
  return value;
}

Result<std::optional<int64_t>> Query::TimeUs(std::string_view name) const {
  auto text = One(name);
  if (!text) return tl::unexpected(text.error());
  if (!*text) return std::optional<int64_t>();
  std::optional<int64_t> us = ParseApiTimeUs(**text);
  if (!us) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(name) +
                         ": not a time (RFC 3339 such as 2026-11-28T18:00:00Z, or seconds since "
                         "the epoch)");
  }
  return us;
}

}  // namespace utmpcd
