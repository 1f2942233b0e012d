// utmpc watch HOST...: the login events of hosts as they happen, one line each, written the
// moment it arrives; a dropped stream is resumed where it stopped (net_http.h, WatchAll).
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "api/wire_decode.h"
#include "core/local_time.h"
#include "net/http_client.h"
#include "net/sse_follower.h"
#include "utmpc/color.h"
#include "utmpc/commands.h"
#include "utmpc/net_query.h"
#include "utmpc/usage.h"

namespace utmpcd {
namespace {

void Usage(FILE* out) {
  std::fputs(
      "Usage: utmpc watch [options] HOST... [--hosts-file FILE]\n"
      "Print the login events of each HOST as they happen (HOST, @HOST, HOST:PORT).\n\n"
      "      --from SEQ         start with the stored events from seq SEQ on (with --server:\n"
      "                         from the fleet's position SEQ on)\n"
      "      --server URL       every event of the hosts a utmpsd fleet server follows, from\n"
      "                         its one stream (HOST then picks hosts of the fleet by name)\n"
      "      --json             each event as a JSON line: {\"host\":...,\"event\":{...}}\n"
      "      --color[=WHEN]     colour logins (green), failed logins (bold red), gone sessions\n"
      "                         (red), boots and shutdowns (yellow): auto (default: on a\n"
      "                         terminal, unless $NO_COLOR is set), always, never\n"
      "      --timeout SECONDS  connection timeout (default 5)\n"
      "  -h, --help             display this help\n",
      out);
}

// Appends `text` made safe for a terminal, padded to `width` bytes.
void AppendColumn(std::string& out, std::string_view text, size_t width, TerminalCharset cs) {
  size_t start = out.size();
  AppendForTerminal(out, text, cs);
  if (out.size() - start < width) out.append(width - (out.size() - start), ' ');
}

class WatchPrinter : public EventSink {
 public:
  // `fleet`: one stream of a fleet server, whose events name their host (one of `hosts`, by
  // label; the events of other hosts are not printed).
  // `color`: each text line in its event's colour.
  WatchPrinter(const std::vector<NetHost>& hosts, bool json, bool color, std::string server = "")
      : hosts_(hosts), json_(json), color_(color && !json), fleet_(!server.empty()),
        server_(std::move(server)), charset_(CurrentTerminalCharset()), column_(hosts, charset_) {}

  void OnMessage(size_t host, const SseMessage& message) override {
    if (message.event == "gap") return Gap(host, message.data);
    if (message.event == "reset") return Reset(host, message.data);
    auto event = DecodeEvent(message.data);
    if (!event) return Say(host, event.error().message);
    if (fleet_) {
      auto it = std::find_if(hosts_.begin(), hosts_.end(),
                             [&](const NetHost& h) { return h.label == event->hostname; });
      if (it == hosts_.end()) return;  // a host not asked for
      host = static_cast<size_t>(it - hosts_.begin());
    }
    line_.clear();
    if (json_) {
      line_ += "{\"host\":";
      AppendJsonString(line_, hosts_[host].label);
      line_ += ",\"event\":";
      line_ += event->json;
      line_ += "}\n";
    } else {
      AppendText(host, *event);
    }
    // Written and flushed at once, whatever stdout is: a watcher wants the line now.
    if (std::fwrite(line_.data(), 1, line_.size(), stdout) != line_.size() ||
        std::fflush(stdout) != 0) {
      fmt::print(stderr, "utmpc watch: write error: {}\n", std::strerror(errno));
      std::exit(1);
    }
  }

  void OnResumed(size_t host, const std::string& after_id) override {
    std::string seq = after_id.substr(0, after_id.find('@'));
    Say(host, seq.empty() ? "the stream is open again"
                          : "the stream is open again, going on after event " + seq);
  }

  void OnTrouble(size_t host, const std::string& what, std::optional<int64_t> retry_ms) override {
    if (retry_ms) {
      Say(host,
          fmt::format("{}; reconnecting in {:.1f} s", what, static_cast<double>(*retry_ms) / 1000));
    } else {
      Say(host, what + "; giving up");
    }
  }

 private:
  // HOST TIME KIND USER TTY REMOTE-HOST, the time in ISO 8601 with the local offset.
  void AppendText(size_t host, const ApiEvent& e) {
    std::string_view color = color_ ? ColorOf(e.kind) : "";
    line_ += color;
    column_.Append(line_, host);
    AppendIso8601(line_, clock_.Local(SecondsOf(e.time_us)));
    line_ += ' ';
    AppendColumn(line_, e.kind, 8, charset_);
    line_ += ' ';
    AppendColumn(line_, UserOf(host, e), 8, charset_);
    line_ += ' ';
    AppendColumn(line_, e.tty, 12, charset_);
    line_ += ' ';
    AppendForTerminal(line_, e.host, charset_);
    while (!line_.empty() && line_.back() == ' ') line_.pop_back();
    if (!color.empty()) line_ += kSgrReset;
    line_ += '\n';
  }

  static std::string_view ColorOf(std::string_view kind) {
    if (kind == "login") return kSgrGreen;
    if (kind == "failed") return kSgrBoldRed;
    if (kind == "gone") return kSgrRed;
    if (kind == "boot" || kind == "shutdown") return kSgrYellow;
    return "";
  }

  // A logout in wtmp names no user (only its line): the user of the login this stream showed
  // on that line, as last pairs them.
  std::string UserOf(size_t host, const ApiEvent& e) {
    auto key = std::make_pair(host, e.tty);
    if (e.kind == "login") {
      on_line_[key] = e.user;
      return e.user;
    }
    if ((e.kind == "logout" || e.kind == "gone") && e.user.empty()) {
      auto it = on_line_.find(key);
      if (it == on_line_.end()) return e.user;
      std::string user = it->second;
      on_line_.erase(it);
      return user;
    }
    return e.user;
  }

  void Gap(size_t host, const std::string& data) {
    auto gap = DecodeGap(data);
    if (!gap) return Say(host, gap.error().message);
    Say(host, fmt::format("events {} to {} are no longer held; going on from {}", gap->from,
                          gap->oldest - 1, gap->oldest));
  }

  // Nothing was skipped silently: the history resumed from is gone (the database was replaced
  // or reset), and what the host holds now is another history.
  void Reset(size_t host, const std::string& data) {
    auto reset = DecodeReset(data);
    if (!reset) return Say(host, reset.error().message);
    Say(host, fmt::format("{}; going on with its events after seq {} (utmpc watch --from 1 {} "
                          "lists its whole history)",
                          reset->reason == "foreign"
                              ? "the history this stream resumed in was replaced"
                              : "the history this stream resumed in was reset",
                          reset->last_seq, fleet_ ? "--server " + server_ : hosts_[host].label));
  }

  void Say(size_t host, const std::string& what) {
    std::string text = "utmpc watch: ";
    // (A fleet server's one stream: what happens to it happens to the server.)
    AppendForTerminal(text, fleet_ ? server_ : hosts_[host].label, charset_);
    text += ": ";
    AppendForTerminal(text, what, charset_);
    text += '\n';
    std::fputs(text.c_str(), stderr);
  }

  const std::vector<NetHost>& hosts_;
  std::map<std::pair<size_t, std::string>, std::string> on_line_;  // (host, tty): user
  bool json_;
  bool color_;
  bool fleet_;
  std::string server_;
  TerminalCharset charset_;
  HostColumn column_;
  LocalClock clock_;
  std::string line_;
};

}  // namespace

int RunWatch(int argc, char** argv) {
  enum { kFrom = CHAR_MAX + 1, kColor };
  NetArgs args;
  ColorWhen color = ColorWhen::kAuto;
  std::optional<int64_t> from;
  std::vector<std::string> operands;
  int status = ParseNetCommandLine(
      argc, argv, "watch", "h",
      {{"from", required_argument, nullptr, kFrom},
       {"color", optional_argument, nullptr, kColor},
       {"help", no_argument, nullptr, 'h'}},
      true,
      [&](int c, const char* arg) {
        if (c == kColor) {
          auto when = arg == nullptr ? std::optional(ColorWhen::kAlways) : ParseColorWhen(arg);
          if (!when) {
            fmt::print(stderr, "utmpc watch: --color takes auto, always or never, not '{}'\n",
                       arg);
            return kUsageError;
          }
          color = *when;
          return -1;
        }
        if (c == kFrom) {
          char* end = nullptr;
          errno = 0;
          long long seq = std::strtoll(arg, &end, 10);
          if (end == arg || *end != '\0' || errno != 0 || seq < 1) {
            fmt::print(stderr, "utmpc watch: invalid seq '{}' (1 or more)\n", arg);
            return kUsageError;
          }
          from = seq;
          return -1;
        }
        Usage(c == 'h' ? stdout : stderr);
        return c == 'h' ? 0 : kUsageError;
      },
      &args, &operands);
  if (status >= 0) return status;

  WatchOptions options;
  options.connect_timeout_ms = args.fetch.timeout_ms;
  options.token = args.fetch.token;
  options.tls = args.fetch.tls;
  if (args.server) {
    // One stream of the fleet server: every host's events, each naming its host.
    options.events_path = "/v1/fleet/events";
    options.from.assign(1, from);
    WatchPrinter printer(args.hosts, args.json, UseColor(color, STDOUT_FILENO),
                         args.server->label);
    WatchAll({*args.server}, options, &printer);
    return 1;
  }
  options.from.assign(args.hosts.size(), from);
  WatchPrinter printer(args.hosts, args.json, UseColor(color, STDOUT_FILENO));
  WatchAll(args.hosts, options, &printer);
  return 1;  // every host was given up
}

}  // namespace utmpcd
