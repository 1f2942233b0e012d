#include "utmpc/last_text.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace utmpcd {
namespace {

struct Widths {
  int in_len, out_len;
};

// last.c's timefmts[]: the login and logout column widths of each --time-format.
Widths WidthsOf(LastTimeFormat f) {
  switch (f) {
    case LastTimeFormat::kNoTime:
      return {0, 0};
    case LastTimeFormat::kShort:
      return {16, 7};
    case LastTimeFormat::kFull:
      return {24, 26};
    case LastTimeFormat::kIso:
      return {25, 27};
  }
  return {16, 7};
}

// printf's "%-W.Ps": at most `precision` bytes of `s` (-1: all), padded to `width`.
void AppendField(std::string& out, std::string_view s, int width, int precision) {
  if (precision >= 0 && s.size() > static_cast<size_t>(precision)) s = s.substr(0, precision);
  out.append(s);
  if (s.size() < static_cast<size_t>(width)) out.append(width - s.size(), ' ');
}

bool IsCSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

}  // namespace

void LastText::AppendTime(std::string& out, LastTimeFormat format, int64_t t, bool hour_minute) {
  if (format == LastTimeFormat::kNoTime) return;
  CivilTime c = clock_.Local(t);
  if (hour_minute) {
    AppendHourMinute(out, c);
  } else if (format == LastTimeFormat::kIso) {
    AppendIso8601(out, c);
  } else {
    AppendCtime(out, c);
  }
}

void LastText::AppendHost(std::string& out, const LastRow& row) {
  const LoginRecord& r = *row.record;
  if (options_.numeric_ip || options_.dns) {
    // As last.c's dns_lookup: IPv4 when the last three words are zero or it is v4-mapped.
    const uint8_t* a = r.addr.data();
    static constexpr uint8_t kZero[12] = {};
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    bool mapped = std::memcmp(a, kMapped, 12) == 0;
    char name[NI_MAXHOST];
    int rc;
    if (mapped || std::memcmp(a + 4, kZero, 12) == 0) {
      sockaddr_in sin{};
      sin.sin_family = AF_INET;
      std::memcpy(&sin.sin_addr, mapped ? a + 12 : a, 4);
      rc = getnameinfo(reinterpret_cast<sockaddr*>(&sin), sizeof sin, name, sizeof name, nullptr,
                       0, options_.numeric_ip ? NI_NUMERICHOST : 0);
    } else {
      sockaddr_in6 sin6{};
      sin6.sin6_family = AF_INET6;
      std::memcpy(&sin6.sin6_addr, a, 16);
      rc = getnameinfo(reinterpret_cast<sockaddr*>(&sin6), sizeof sin6, name, sizeof name,
                       nullptr, 0, options_.numeric_ip ? NI_NUMERICHOST : 0);
    }
    if (rc == 0) {
      out.append(name);
      return;
    }
  }
  // last.c copies ut_host into a 256-byte buffer: a full field loses its last byte.
  out.append(r.host.substr(0, kHostSize - 1));
}

void LastText::AppendRow(std::string& out, const LastRow& row) {
  const LastTimeFormat fmt = options_.time_format;
  const Widths w = WidthsOf(fmt);
  const bool short_fmt = fmt == LastTimeFormat::kShort;
  const bool long_fmt = fmt == LastTimeFormat::kFull || fmt == LastTimeFormat::kIso;

  login_.clear();
  AppendTime(login_, fmt, row.login_s, false);

  int64_t secs = row.logout_s - row.login_s;
  int mins = static_cast<int>((secs / 60) % 60);
  int hours = static_cast<int>((secs / 3600) % 24);
  int days = static_cast<int>(secs / 86400);

  logout_ = "- ";
  AppendTime(logout_, fmt, row.logout_s, short_fmt);
  length_.clear();
  if (row.logout_s == options_.now_s) {
    logout_ = long_fmt ? "  still running" : "  still";
    length_ = long_fmt ? "" : "running";
  } else if (days != 0) {
    length_ = fmt::format("({}+{:02}:{:02})", days, std::abs(hours), std::abs(mins));
  } else if (hours != 0) {
    length_ = fmt::format(" ({:02}:{:02})", hours, std::abs(mins));
  } else if (secs >= 0) {
    length_ = fmt::format(" ({:02}:{:02})", hours, mins);
  } else {
    length_ = fmt::format(" (-00:{:02})", std::abs(mins));
  }

  switch (row.end) {
    case SessionEnd::kCrash:
      logout_ = "- crash";
      break;
    case SessionEnd::kDown:
      logout_ = "- down ";
      break;
    case SessionEnd::kStillLoggedIn:
      logout_ = long_fmt ? "  still logged in" : "  still";
      length_ = long_fmt ? "" : "logged in";
      break;
    case SessionEnd::kGone:
      if (long_fmt) {
        logout_ = "  gone - no logout";
        length_.clear();
      } else if (short_fmt) {
        logout_ = "   gone";
        length_ = "- no logout";
      } else {
        logout_.clear();
        length_ = "no logout";
      }
      break;
    case SessionEnd::kTimeChange:
      logout_.clear();
      length_.clear();
      break;
    case SessionEnd::kLogout:
    case SessionEnd::kBoot:
      break;
  }

  host_.clear();
  AppendHost(host_, row);

  raw_.clear();
  AppendField(raw_, row.record->user, 8, options_.name_len);
  raw_.push_back(' ');
  AppendField(raw_, row.line, 12, 12);
  raw_.push_back(' ');
  if (options_.show_host && !options_.host_last) {
    AppendField(raw_, host_, 16, options_.host_len);
    raw_.push_back(' ');
  }
  AppendField(raw_, login_, w.in_len, w.in_len);
  raw_.push_back(' ');
  AppendField(raw_, logout_, w.out_len, w.out_len);
  raw_.push_back(' ');
  if (options_.show_host && options_.host_last) {
    // last.c's -a format string pairs "%-12.12s" with the length and "%s" with the host.
    AppendField(raw_, length_, 12, 12);
    raw_.push_back(' ');
    raw_.append(host_);
  } else {
    raw_.append(length_);
  }
  // trim_trailing_spaces(), then the careful print of the whole row.
  size_t end = raw_.size();
  while (end > 0 && IsCSpace(raw_[end - 1])) --end;
  AppendForTerminal(out, std::string_view(raw_).substr(0, end), options_.charset);
  out.push_back('\n');
}

void LastText::AppendBegins(std::string& out, const std::string& basename, int64_t begins_s) {
  if (options_.time_format == LastTimeFormat::kNoTime) return;
  out.push_back('\n');
  out.append(basename);
  out.append(" begins ");
  AppendTime(out, options_.time_format == LastTimeFormat::kShort ? LastTimeFormat::kFull
                                                                 : options_.time_format,
             begins_s, false);
  out.push_back('\n');
}

}  // namespace utmpcd
