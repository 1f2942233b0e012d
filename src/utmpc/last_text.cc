#include "utmpc/last_text.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "utmpc/color.h"

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

// Copies n bytes, inline for the short fields of a row: two overlapping moves of the widest
// power of two that fits, where a call to memcpy would cost more than the copy.
inline void CopyShort(char* dst, const char* src, size_t n) {
  auto move = [&](auto word) {
    using Word = decltype(word);
    Word a, b;
    std::memcpy(&a, src, sizeof(Word));
    std::memcpy(&b, src + n - sizeof(Word), sizeof(Word));
    std::memcpy(dst, &a, sizeof(Word));
    std::memcpy(dst + n - sizeof(Word), &b, sizeof(Word));
  };
  if (n >= 8) {
    if (n > 16) {
      std::memcpy(dst, src, n);
    } else {
      move(uint64_t{});
    }
  } else if (n >= 4) {
    move(uint32_t{});
  } else if (n > 0) {
    dst[0] = src[0];
    dst[n / 2] = src[n / 2];
    dst[n - 1] = src[n - 1];
  }
}

// A row under construction. Nothing in a row is longer than 256 bytes (the host field) and a row
// has eight fields, so 2 KiB never overflows, even with the 32 bytes of padding a field may
// write past its end; appends are unchecked on this hot path.
class RowBuffer {
 public:
  void Put(char c) { data_[size_++] = c; }
  void Append(std::string_view s) {
    CopyShort(data_ + size_, s.data(), s.size());
    size_ += s.size();
  }
  // printf's "%-W.Ps": at most `precision` bytes of `s` (-1: all), padded to `width`.
  void Field(std::string_view s, int width, int precision) {
    if (precision >= 0 && s.size() > static_cast<size_t>(precision)) s = s.substr(0, precision);
    const size_t w = static_cast<size_t>(width);
    if (s.size() < w) {
      // The padding first, as 32 spaces, or all of it when wider; the text then goes over it.
      if (w <= 32) {
        std::memset(data_ + size_, ' ', 32);
      } else {
        std::memset(data_ + size_, ' ', w);
      }
      CopyShort(data_ + size_, s.data(), s.size());
      size_ += w;
    } else {
      Append(s);
    }
  }
  std::string_view view() const { return {data_, size_}; }

 private:
  char data_[2048];
  size_t size_ = 0;
};

// A row whose text columns are cut and padded by the terminal columns they take, for text that
// may hold multibyte characters (LastTextOptions::by_columns). Each field is made safe first:
// what is measured is what the terminal shows.
class ColumnRow {
 public:
  explicit ColumnRow(TerminalCharset charset) : charset_(charset) {}
  // "%-W.Ps" in terminal columns: at most `precision` columns (-1: all), padded to `width`.
  // Cut by what each character (or byte that is none) shows as, escaped: a cut never falls
  // inside an escape ("\\351" stays whole or goes).
  void Field(std::string_view s, int width, int precision) {
    int used = 0;
    for (size_t i = 0; i < s.size();) {
      size_t len = 1;
      char32_t cp;
      if (charset_ == TerminalCharset::kUtf8 && static_cast<unsigned char>(s[i]) >= 0x80) {
        len = std::max<size_t>(Utf8SequenceLength(s.substr(i), &cp), 1);
      }
      safe_.clear();
      AppendForTerminal(safe_, s.substr(i, len), charset_);
      int columns;
      FitColumns(safe_, -1, charset_, &columns);
      if (precision >= 0 && used + columns > precision) break;
      text_ += safe_;
      used += columns;
      i += len;
    }
    if (used < width) text_.append(static_cast<size_t>(width - used), ' ');
  }
  // Text that is ASCII already (times, lengths).
  void Append(std::string_view s) { text_ += s; }
  void Put(char c) { text_ += c; }
  std::string_view view() const { return text_; }

 private:
  TerminalCharset charset_;
  std::string safe_;
  std::string text_;
};

// Appends "%02d" of a value in 0..99, or more digits when larger (days can be).
char* PutNumber(char* p, int64_t v, int min_digits) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0);
  while (n < min_digits) digits[n++] = '0';
  while (n > 0) *p++ = digits[--n];
  return p;
}

// printf's "%02d".
char* Put02(char* p, int64_t v) {
  if (v >= 0 && v < 100) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
    return p + 2;
  }
  if (v < 0) {
    *p++ = '-';
    return PutNumber(p, -v, 1);
  }
  return PutNumber(p, v, 2);
}

// "HH:MM" of every minute of a day, for the short time format's hot path.
struct HourMinuteTable {
  char text[24 * 60][5];
};
constexpr HourMinuteTable MakeHourMinuteTable() {
  HourMinuteTable t{};
  for (int m = 0; m < 24 * 60; ++m) {
    t.text[m][0] = static_cast<char>('0' + m / 60 / 10);
    t.text[m][1] = static_cast<char>('0' + m / 60 % 10);
    t.text[m][2] = ':';
    t.text[m][3] = static_cast<char>('0' + m % 60 / 10);
    t.text[m][4] = static_cast<char>('0' + m % 60 % 10);
  }
  return t;
}
constexpr HourMinuteTable kHourMinute = MakeHourMinuteTable();

// last.c's length column: "(D+HH:MM)", " (HH:MM)", or " (-00:MM)" when the clock went back;
// hours and minutes lose their sign where last.c takes abs() of them.
std::string_view FormatLength(char* buf, int64_t secs) {
  if (secs >= 0 && secs < 86400) {
    // " (HH:MM)", most sessions: the clock's text of a time of day this long after midnight.
    std::memcpy(buf, " (", 2);
    std::memcpy(buf + 2, kHourMinute.text[secs / 60], 5);
    buf[7] = ')';
    return {buf, 8};
  }
  int64_t mins = (secs / 60) % 60;
  int64_t hours = (secs / 3600) % 24;
  int64_t days = static_cast<int>(secs / 86400);
  char* p = buf;
  if (days != 0) {
    *p++ = '(';
    if (days < 0) *p++ = '-';
    p = PutNumber(p, days < 0 ? -days : days, 1);
    *p++ = '+';
    p = Put02(p, std::abs(hours));
  } else if (hours != 0) {  // less than a day, backward: the clock went back
    *p++ = ' ';
    *p++ = '(';
    p = Put02(p, hours);
  } else {
    std::memcpy(p, " (-00", 5);
    p += 5;
  }
  *p++ = ':';
  p = Put02(p, std::abs(mins));
  *p++ = ')';
  return {buf, static_cast<size_t>(p - buf)};
}

// The user as last.c prints it: its is_phantom() ends ut_user at the 32nd byte (to look the
// name up) for an open login newer than this boot, and list() then prints the cut name, so
// `last -w` shows 31 bytes of a 32-byte name there. Text only: JSON keeps the whole name.
std::string_view UserColumn(const LastRow& row, int64_t boot_s) {
  std::string_view user = row.record->user;
  bool open = row.end == SessionEnd::kGone || row.end == SessionEnd::kStillLoggedIn;
  if (open && row.record->time_s >= boot_s && user.size() >= kUserSize) {
    user = user.substr(0, kUserSize - 1);
  }
  return user;
}

bool IsCSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

}  // namespace

LastText::LastText(const LastTextOptions& options)
    : options_(options),
      short_rows_(options.time_format == LastTimeFormat::kShort && options.show_host &&
                  !options.host_last && !options.numeric_ip && !options.dns &&
                  options.name_len == 8 && options.host_len == 16) {}

const LastText::Day* LastText::OtherShortDay(Days& days, int64_t t) {
  for (size_t i = 0; i < Days::kCount; ++i) {
    const Day& day = days.day[i];
    if (t >= day.start && t - day.start < kSecondsPerDay) {
      days.last = i;
      return &day;
    }
  }
  CivilTime c = clock_.Local(t);
  const int64_t start = t - (c.hour * 3600 + c.minute * 60 + c.second);
  // Only a day with one UTC offset from its first second to its last (no change inside it).
  if (clock_.Local(start).gmtoff_s != c.gmtoff_s ||
      clock_.Local(start + kSecondsPerDay - 1).gmtoff_s != c.gmtoff_s) {
    return nullptr;
  }
  c.hour = c.minute = c.second = 0;
  days.last = days.next;
  days.next = (days.next + 1) % Days::kCount;
  Day& day = days.day[days.last];
  day.start = start;
  FormatCtime(day.ctime, c);
  return &day;
}

std::string_view LastText::FormatTime(char* buf, LastTimeFormat format, int64_t t, bool hour_minute,
                                      Days& days) {
  if (format == LastTimeFormat::kNoTime) return {};
  if (const Day* day = format == LastTimeFormat::kShort ? ShortDay(days, t) : nullptr) {
    // "Tue Nov 14 22:13" (the first 16 bytes of ctime) or "22:13": the day's text and the
    // minute's.
    const char* minute = kHourMinute.text[(t - day->start) / 60];
    if (hour_minute) {
      std::memcpy(buf, minute, 5);
      return {buf, 5};
    }
    std::memcpy(buf, day->ctime, 11);
    std::memcpy(buf + 11, minute, 5);
    return {buf, 16};
  }
  CivilTime c = clock_.Local(t);
  char* end;
  if (hour_minute) {
    end = FormatHourMinute(buf, c);
  } else if (format == LastTimeFormat::kIso) {
    iso_.clear();
    AppendIso8601(iso_, c);
    std::memcpy(buf, iso_.data(), iso_.size());  // 25 bytes: fits kMaxCtimeLength
    end = buf + iso_.size();
  } else {
    end = FormatCtime(buf, c);
  }
  return {buf, static_cast<size_t>(end - buf)};
}

std::string_view LastText::HostColumn(const LastRow& row) {
  const LoginRecord& r = *row.record;
  if (options_.numeric_ip || options_.dns) {
    // As last.c's dns_lookup: IPv4 when the last three words are zero or it is v4-mapped.
    const uint8_t* a = r.addr.data();
    static constexpr uint8_t kZero[12] = {};
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    bool mapped = std::memcmp(a, kMapped, 12) == 0;
    // last.c's buffer: a longer name does not fit, and the record's host is shown instead.
    char name[256];
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
      host_ = name;
      return host_;
    }
  }
  // last.c copies ut_host into a 256-byte buffer: a full field loses its last byte.
  return r.host.substr(0, kHostSize - 1);
}

bool LastText::AppendShortRow(std::string& out, const LastRow& row) {
  // last.c's "%-8.8s %-12.12s %-16.16s %-16.16s %-7.7s %s": every column but the last has a
  // fixed width, and starts at a fixed place.
  constexpr size_t kLine = 9, kHost = 22, kLogin = 39, kLogout = 56, kLength = 64;
  const Day* login_day = ShortDay(login_days_, row.login_s);
  if (login_day == nullptr) return false;
  char b[kLength + 64];
  std::memset(b, ' ', kLength);
  const LoginRecord& r = *row.record;
  CopyShort(b, r.user.data(), std::min<size_t>(r.user.size(), 8));
  CopyShort(b + kLine, row.line.data(), std::min<size_t>(row.line.size(), 12));
  CopyShort(b + kHost, r.host.data(), std::min<size_t>(r.host.size(), 16));
  std::memcpy(b + kLogin, login_day->ctime, 11);
  std::memcpy(b + kLogin + 11, kHourMinute.text[(row.login_s - login_day->start) / 60], 5);

  std::string_view logout, length;
  if (EndColumns(row, LastTimeFormat::kShort, b + kLength, &logout, &length)) {
    const Day* logout_day = ShortDay(logout_days_, row.logout_s);
    if (logout_day == nullptr) return false;
    b[kLogout] = '-';
    std::memcpy(b + kLogout + 2, kHourMinute.text[(row.logout_s - logout_day->start) / 60], 5);
  }
  CopyShort(b + kLogout, logout.data(), logout.size());
  if (length.data() != b + kLength) CopyShort(b + kLength, length.data(), length.size());
  size_t n = kLength + length.size();
  // trim_trailing_spaces(); the login time keeps the row longer than the record's text.
  while (IsCSpace(b[n - 1])) --n;
  // The careful print when a byte needs it: only user, line and host, before kLogin - 1, can
  // hold one.
  static_assert(kLogin - 1 >= 32 && kLogin - 1 <= 48);
  if ((NotPrintable16(b) | NotPrintable16(b + 16) | NotPrintable16(b + kLogin - 1 - 16)) != 0) {
    return false;
  }
  b[n] = '\n';
  out.append(b, n + 1);
  return true;
}

void LastText::AppendRow(std::string& out, const LastRow& row) {
  std::string_view color;
  if (options_.color) {
    if (row.end == SessionEnd::kStillLoggedIn) color = kSgrGreen;
    if (row.end == SessionEnd::kCrash || row.end == SessionEnd::kGone) color = kSgrRed;
  }
  if (color.empty()) return AppendRowText(out, row);
  out += color;
  AppendRowText(out, row);
  out.insert(out.size() - 1, kSgrReset);  // before the row's newline
}

void LastText::AppendRowText(std::string& out, const LastRow& row) {
  if (short_rows_ && AppendShortRow(out, row)) return;
  const LastTimeFormat fmt = options_.time_format;
  const Widths w = WidthsOf(fmt);
  const bool short_fmt = fmt == LastTimeFormat::kShort;

  char login_buf[kMaxCtimeLength];
  std::string_view login = FormatTime(login_buf, fmt, row.login_s, false, login_days_);

  char logout_buf[kMaxCtimeLength + 2];
  char length_buf[64];
  std::string_view logout, length;
  if (EndColumns(row, fmt, length_buf, &logout, &length)) {
    logout_buf[0] = '-';
    logout_buf[1] = ' ';
    logout = {logout_buf,
              2 + FormatTime(logout_buf + 2, fmt, row.logout_s, short_fmt, logout_days_).size()};
  }

  const std::string_view host = HostColumn(row);
  const std::string_view user = UserColumn(row, options_.boot_s);

  auto columns = [&](auto& raw) {
    raw.Field(user, 8, options_.name_len);
    raw.Put(' ');
    raw.Field(row.line, 12, 12);
    raw.Put(' ');
    if (options_.show_host && !options_.host_last) {
      raw.Field(host, 16, options_.host_len);
      raw.Put(' ');
    }
    raw.Field(login, w.in_len, w.in_len);
    raw.Put(' ');
    raw.Field(logout, w.out_len, w.out_len);
    raw.Put(' ');
    if (options_.show_host && options_.host_last) {
      // last.c's -a format string pairs "%-12.12s" with the length and "%s" with the host.
      raw.Field(length, 12, 12);
      raw.Put(' ');
      raw.Field(host, 0, -1);
    } else {
      raw.Append(length);
    }
  };
  // trim_trailing_spaces(), then the careful print of the whole row (a ColumnRow's fields are
  // careful already).
  auto trimmed = [](std::string_view text) {
    while (!text.empty() && IsCSpace(text.back())) text.remove_suffix(1);
    return text;
  };
  if (options_.by_columns) {
    ColumnRow raw(options_.charset);
    columns(raw);
    out += trimmed(raw.view());
  } else {
    RowBuffer raw;
    columns(raw);
    AppendForTerminal(out, trimmed(raw.view()), options_.charset);
  }
  out.push_back('\n');
}

bool LastText::EndColumns(const LastRow& row, LastTimeFormat fmt, char* length_buf,
                          std::string_view* logout, std::string_view* length) const {
  const bool long_fmt = fmt == LastTimeFormat::kFull || fmt == LastTimeFormat::kIso;
  if (row.logout_s == options_.now_s) {
    *logout = long_fmt ? "  still running" : "  still";
    *length = long_fmt ? "" : "running";
  } else {
    *length = FormatLength(length_buf, row.logout_s - row.login_s);
  }
  // The switch of last.c's list(): every end but a logout or a boot writes its own words over
  // the logout time.
  switch (row.end) {
    case SessionEnd::kCrash:
      *logout = "- crash";
      break;
    case SessionEnd::kDown:
      *logout = "- down ";
      break;
    case SessionEnd::kStillLoggedIn:
      *logout = long_fmt ? "  still logged in" : "  still";
      *length = long_fmt ? "" : "logged in";
      break;
    case SessionEnd::kGone:
      if (long_fmt) {
        *logout = "  gone - no logout";
        *length = "";
      } else if (fmt == LastTimeFormat::kShort) {
        *logout = "   gone";
        *length = "- no logout";
      } else {
        *logout = "";
        *length = "no logout";
      }
      break;
    case SessionEnd::kTimeChange:
      *logout = "";
      *length = "";
      break;
    case SessionEnd::kLogout:
    case SessionEnd::kBoot:
      return row.logout_s != options_.now_s;
  }
  return false;
}

void LastText::AppendBegins(std::string& out, const std::string& basename, int64_t begins_s) {
  if (options_.time_format == LastTimeFormat::kNoTime) return;
  out.push_back('\n');
  out.append(basename);
  out.append(" begins ");
  char buf[kMaxCtimeLength];
  out.append(FormatTime(
      buf,
      options_.time_format == LastTimeFormat::kShort ? LastTimeFormat::kFull : options_.time_format,
      begins_s, false, login_days_));
  out.push_back('\n');
}

}  // namespace utmpcd
