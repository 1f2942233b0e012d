#include "utmpc/dump_undump.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "core/login_record.h"

namespace utmpcd {
namespace {

// utmpdump reads with fgets(buf, 1023): a longer line is taken as two.
constexpr size_t kMaxLine = 1022;
// utmpdump skips 19 bytes, the width of "[7] [01234] [ts/0] " with a 5-digit pid, before the
// user column; a wider pid leaves part of the id to be skipped by the search for '['.
constexpr size_t kPrefix = 19;

// utmpdump's gettok(): the text between the next '[' and the following ']', cut at its first
// space when `eat_space`; `*pos` moves one past the ']'. nullopt when there is
// no such pair (utmpdump then exits with "Extraneous newline in file").
std::optional<std::string> Token(const std::string& line, size_t* pos, bool eat_space) {
  size_t open = line.find('[', *pos);
  if (open == std::string::npos) return std::nullopt;
  size_t close = line.find(']', open + 1);
  if (close == std::string::npos) return std::nullopt;
  std::string token = line.substr(open + 1, close - open - 1);
  if (eat_space) token.resize(std::min(token.size(), token.find(' ')));
  *pos = close + 1;
  return token;
}

// strtotime() and strtousec(): "1998-09-01T01:00:00,000000+00:00" is read as UTC (utmpdump
// writes UTC), the legacy "Tue Sep 01 00:00:00 1998 GMT" too; blank is 0.
void ParseTime(const std::string& text, LoginRecord* r) {
  if (text.empty() || text[0] == ' ') {
    r->time_s = 0;
  } else {
    struct tm tm {};
    const char* format =
        std::isdigit(static_cast<unsigned char>(text[0])) ? "%Y-%m-%dT%H:%M:%S" : "%a %b %d %T %Y";
    ::strptime(text.c_str(), format, &tm);
    // ut_tv.tv_sec is 32 bits on disk: timegm's result is cut to them, as utmpdump stores it.
    r->time_s = static_cast<uint32_t>(::timegm(&tm));
  }
  size_t comma = text.find(',');
  r->time_usec = comma == std::string::npos ? 0 : std::atoi(text.c_str() + comma + 1);
}

}  // namespace

bool UndumpLine(const std::string& line, std::string* out, UtmpLayout layout) {
  LoginRecord r;
  short type = 0;
  int pid = 0;
  char id[4] = {};
  std::sscanf(line.c_str(), "[%hd] [%d] [%4c] ", &type, &pid, id);
  r.type = type;
  r.pid = pid;
  if (line.size() < kPrefix) return false;
  size_t pos = kPrefix;
  auto user = Token(line, &pos, true);
  auto tty = user ? Token(line, &pos, true) : std::nullopt;
  auto host = tty ? Token(line, &pos, true) : std::nullopt;
  auto addr = host ? Token(line, &pos, true) : std::nullopt;
  auto time = addr ? Token(line, &pos, false) : std::nullopt;
  if (!time) return false;
  std::string id_text(id, strnlen(id, sizeof id));
  r.id = id_text;
  r.user = *user;
  r.line = *tty;
  r.host = *host;
  // utmpdump keeps INET6_ADDRSTRLEN bytes of the address token.
  std::string a = addr->substr(0, INET6_ADDRSTRLEN);
  inet_pton(a.find('.') != std::string::npos ? AF_INET : AF_INET6, a.c_str(), r.addr.data());
  ParseTime(time->substr(0, 28), &r);
  EncodeUtmp(r, layout, out);
  return true;
}

int Undump(const std::optional<std::string>& file, UtmpLayout layout) {
  FILE* in = stdin;
  std::unique_ptr<FILE, int (*)(FILE*)> owned(nullptr, std::fclose);
  if (file) {
    owned.reset(std::fopen(file->c_str(), "r"));
    if (!owned) {
      fmt::print(stderr, "utmpc dump: cannot open {}: {}\n", *file, std::strerror(errno));
      return 1;
    }
    in = owned.get();
  }
  std::string records;
  char buf[kMaxLine + 2];
  while (std::fgets(buf, sizeof buf - 1, in) != nullptr) {
    if (!UndumpLine(buf, &records, layout)) {
      std::fwrite(records.data(), 1, records.size(), stdout);
      std::fputs("utmpc dump: Extraneous newline in file. Exiting.\n", stderr);
      return 1;
    }
  }
  if (std::fwrite(records.data(), 1, records.size(), stdout) != records.size() ||
      std::fflush(stdout) != 0) {
    fmt::print(stderr, "utmpc dump: write error: {}\n", std::strerror(errno));
    return 1;
  }
  return 0;
}

}  // namespace utmpcd
