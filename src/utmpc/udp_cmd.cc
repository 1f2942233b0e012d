// utmpc ping, summary and discover: utmpcd hosts asked with port 431's datagrams
// (docs/PROTOCOL.md, "UDP"). Quick polls, no connection; anything bigger goes over HTTP.
#include <fmt/format.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/text.h"
#include "net/udp_client.h"
#include "utmpc/commands.h"
#include "utmpc/output.h"
#include "utmpc/usage.h"

namespace utmpcd {
namespace {

constexpr int64_t kNsPerS = 1'000'000'000;

// A count of seconds, fractions allowed ("0.2"), at least 1 ms and at most a day.
std::optional<int64_t> ParseSecondsNs(const char* text) {
  char* end = nullptr;
  double seconds = std::strtod(text, &end);
  if (*text == '\0' || *end != '\0' || !(seconds >= 0.001 && seconds <= 86400)) {
    return std::nullopt;
  }
  return static_cast<int64_t>(seconds * kNsPerS);
}

std::optional<long> ParseInteger(const char* text, long min, long max) {
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || value < min || value > max) return std::nullopt;
  return value;
}

// The options the three commands share, and the hosts named.
struct UdpArgs {
  const char* command = "";
  int64_t count = 3;
  int64_t interval_ns = kNsPerS;
  std::optional<int64_t> timeout_ns;
  int64_t size = kMinUdpRequestBytes;
  uint16_t port = kUdpDefaultPort;
  std::string broadcast = "255.255.255.255";
  bool json = false;
  std::vector<std::string> hosts;
};

// Says what failed; returns the exit status `status`.
int Fail(const UdpArgs& a, const std::string& message, int status = 1) {
  fmt::print(stderr, "utmpc {}: {}\n", a.command, message);
  return status;
}

// Which options a command takes.
struct UdpCommand {
  const char* shorts;  // getopt's short options
  const char* usage;
  bool json = false;       // --json
  bool broadcast = false;  // --broadcast
};

// Parses the options of `a->command`; returns an exit status to stop with, or -1 to go on.
int ParseArgs(int argc, char** argv, const UdpCommand& command, UdpArgs* a) {
  enum { kJson = CHAR_MAX + 1, kBroadcast };
  static const struct option kLong[] = {{"count", required_argument, nullptr, 'c'},
                                        {"interval", required_argument, nullptr, 'i'},
                                        {"timeout", required_argument, nullptr, 'W'},
                                        {"size", required_argument, nullptr, 's'},
                                        {"port", required_argument, nullptr, 'p'},
                                        {"broadcast", required_argument, nullptr, kBroadcast},
                                        {"json", no_argument, nullptr, kJson},
                                        {"help", no_argument, nullptr, 'h'},
                                        {nullptr, 0, nullptr, 0}};
  optind = 0;
  int c, index = -1;
  while ((c = getopt_long(argc, argv, command.shorts, kLong, &index)) != -1) {
    std::optional<long> number;
    std::optional<int64_t> seconds;
    // getopt_long knows every long option of the three commands; each takes only its own.
    bool known = c == kJson ? command.json
                 : c == kBroadcast
                     ? command.broadcast
                     : c != '?' && c != ':' && std::strchr(command.shorts, c) != nullptr;
    if (!known) {
      if (c != '?') {
        fmt::print(stderr, "utmpc {}: --{} is not an option of this command\n", a->command,
                   kLong[index].name);
      }
      std::fputs(command.usage, stderr);
      return kUsageError;
    }
    if (c == 'c' && (number = ParseInteger(optarg, 1, 1'000'000))) {
      a->count = *number;
    } else if ((c == 'i' || c == 'W') && (seconds = ParseSecondsNs(optarg))) {
      (c == 'i' ? a->interval_ns : a->timeout_ns.emplace()) = *seconds;
    } else if (c == 's' &&
               (number = ParseInteger(optarg, kMinUdpRequestBytes, kMaxUdpDatagramBytes))) {
      a->size = *number;
    } else if (c == 'p' && (number = ParseInteger(optarg, 1, 65535))) {
      a->port = static_cast<uint16_t>(*number);
    } else if (c == kBroadcast) {
      a->broadcast = optarg;
    } else if (c == kJson) {
      a->json = true;
    } else if (c == 'h') {
      std::fputs(command.usage, stdout);
      return 0;
    } else {
      fmt::print(stderr, "utmpc {}: invalid argument '{}'\n", a->command, optarg);
      std::fputs(command.usage, stderr);
      return kUsageError;
    }
    index = -1;
  }
  for (int i = optind; i < argc; ++i) a->hosts.emplace_back(argv[i]);
  return -1;
}

// The hosts named, resolved; the ones that do not resolve are reported and left out.
std::vector<UdpPeer> Resolve(const UdpArgs& a, bool* failed) {
  std::vector<UdpPeer> peers;
  for (const std::string& host : a.hosts) {
    auto peer = ResolveUdpPeer(host, a.port);
    if (peer) {
      peers.push_back(std::move(*peer));
    } else {
      fmt::print(stderr, "utmpc {}: {}\n", a.command, peer.error().message);
      *failed = true;
    }
  }
  return peers;
}

// Text from the network, safe for this terminal.
std::string Safe(std::string_view text) {
  std::string out;
  AppendForTerminal(out, text, CurrentTerminalCharset());
  return out;
}

// ---- ping ----

constexpr char kPingUsage[] =
    "Usage: utmpc ping [options] HOST[:PORT]...\n\n"
    "Sends UDP PING requests to utmpcd on each HOST and prints the round-trip times.\n\n"
    "Options:\n"
    "  -c, --count N          requests per host (default 3)\n"
    "  -i, --interval SECONDS time between requests (default 1)\n"
    "  -W, --timeout SECONDS  how long a reply may take (default 1)\n"
    "  -s, --size BYTES       request size, 16 to 1200 (default 16)\n"
    "  -p, --port PORT        port of hosts that name none (default 431)\n"
    "  -h, --help             display this help and exit\n";

struct PingHost {
  UdpPeer peer;
  std::optional<UdpSocket> socket;
  std::vector<int64_t> sent_ns;  // per request; -1 once answered
  std::vector<double> rtt_ms;
  std::string error;  // the socket failed: "connection refused"
};

// Reads every reply waiting for `h` and records the round trips of the ones in time.
void TakePingReplies(PingHost& h, uint32_t base_id, int64_t timeout_ns) {
  while (h.socket) {
    auto reply = h.socket->ReceiveNow();
    if (!reply) {
      h.error = reply.error().message;
      return;
    }
    if (!*reply) return;
    uint32_t seq = (*reply)->request_id - base_id;
    if ((*reply)->op != UdpOp::kPing || seq >= h.sent_ns.size() || h.sent_ns[seq] < 0) continue;
    int64_t rtt_ns = MonotonicNs() - h.sent_ns[seq];
    h.sent_ns[seq] = -1;
    if (rtt_ns <= timeout_ns) h.rtt_ms.push_back(static_cast<double>(rtt_ns) / 1e6);
  }
}

// Takes replies until `until_ns`, or until every request sent was answered when `early`.
void PumpPings(std::vector<PingHost>& hosts, uint32_t base_id, int64_t timeout_ns, int64_t until_ns,
               bool early) {
  std::vector<const UdpSocket*> sockets;
  std::vector<PingHost*> owners;
  for (PingHost& h : hosts) {
    if (!h.socket) continue;
    sockets.push_back(&*h.socket);
    owners.push_back(&h);
  }
  while (MonotonicNs() < until_ns) {
    if (early && std::all_of(hosts.begin(), hosts.end(), [](const PingHost& h) {
          return std::all_of(h.sent_ns.begin(), h.sent_ns.end(), [](int64_t t) { return t < 0; });
        })) {
      return;
    }
    for (size_t i : WaitReadable(sockets, until_ns)) {
      TakePingReplies(*owners[i], base_id, timeout_ns);
    }
  }
}

std::string PingLine(const PingHost& h, int64_t count) {
  size_t received = h.rtt_ms.size();
  std::string line = fmt::format("{} ({}): {} sent, {} received, {}% loss", Safe(h.peer.label),
                                 FormatEndpoint(h.peer.endpoint), count, received,
                                 (count - static_cast<int64_t>(received)) * 100 / count);
  if (received > 0) {
    double sum = 0;
    for (double r : h.rtt_ms) sum += r;
    auto [min, max] = std::minmax_element(h.rtt_ms.begin(), h.rtt_ms.end());
    line += fmt::format(", rtt min/avg/max {:.3f}/{:.3f}/{:.3f} ms", *min,
                        sum / static_cast<double>(received), *max);
  }
  if (!h.error.empty()) line += " (" + h.error + ")";
  return line + "\n";
}

}  // namespace

int RunPing(int argc, char** argv) {
  UdpArgs a;
  a.command = "ping";
  if (int rc = ParseArgs(argc, argv, {"c:i:W:s:p:h", kPingUsage}, &a); rc >= 0) return rc;
  if (a.hosts.empty()) return Fail(a, "no host given (utmpc ping HOST...)", kUsageError);
  int64_t timeout_ns = a.timeout_ns.value_or(kNsPerS);
  bool failed = false;
  std::vector<PingHost> hosts;
  for (UdpPeer& peer : Resolve(a, &failed)) {
    PingHost h{std::move(peer), std::nullopt, {}, {}, {}};
    if (auto socket = UdpSocket::Connect(h.peer.endpoint)) {
      h.socket.emplace(std::move(*socket));
    } else {
      h.error = socket.error().message;
    }
    hosts.push_back(std::move(h));
  }
  uint32_t base_id = RandomRequestId();
  int64_t start_ns = MonotonicNs();
  for (int64_t seq = 0; seq < a.count; ++seq) {
    PumpPings(hosts, base_id, timeout_ns, start_ns + seq * a.interval_ns, false);
    std::string request =
        EncodeUdpRequest(UdpRequest{UdpOp::kPing, base_id + static_cast<uint32_t>(seq), 0}, a.size);
    for (PingHost& h : hosts) {
      h.sent_ns.push_back(MonotonicNs());
      if (h.socket && !h.socket->Send(request)) h.sent_ns.back() = -1;
    }
  }
  PumpPings(hosts, base_id, timeout_ns, MonotonicNs() + timeout_ns, true);
  Output out(stdout);
  for (const PingHost& h : hosts) {
    out.buffer() += PingLine(h, a.count);
    if (h.rtt_ms.empty()) failed = true;
  }
  return out.Flush() && !failed ? 0 : 1;
}

namespace {

// ---- summary and discover ----

constexpr char kSummaryUsage[] =
    "Usage: utmpc summary [options] HOST[:PORT]...\n\n"
    "Asks utmpcd on each HOST for its summary over UDP: host name, uptime, users, load.\n\n"
    "Options:\n"
    "  -W, --timeout SECONDS  how long to wait for the answers (default 2)\n"
    "  -p, --port PORT        port of hosts that name none (default 431)\n"
    "      --json             one JSON document\n"
    "  -h, --help             display this help and exit\n";

constexpr char kDiscoverUsage[] =
    "Usage: utmpc discover [options]\n\n"
    "Broadcasts one UDP SUMMARY request and lists the utmpcd hosts that answer (only those\n"
    "with discovery = true in their [udp] configuration do).\n\n"
    "Options:\n"
    "  -p, --port PORT        the port asked (default 431)\n"
    "      --broadcast ADDR   where to send it (default 255.255.255.255; a subnet's\n"
    "                         broadcast address such as 192.0.2.255, or an IPv6\n"
    "                         multicast group such as ff02::1%eth0)\n"
    "  -W, --timeout SECONDS  how long to wait for answers (default 2)\n"
    "      --json             one JSON document\n"
    "  -h, --help             display this help and exit\n";

// One host's answer to SUMMARY, or why there is none.
struct SummaryRow {
  std::string label;    // as named, or the address that answered (discover)
  std::string address;  // "192.0.2.7:431"
  std::optional<HostSummary> summary;
  std::string error;
};

std::string FormatUptime(int64_t uptime_s) {
  int64_t days = uptime_s / 86400, hours = uptime_s % 86400 / 3600, minutes = uptime_s % 3600 / 60;
  if (days > 0) return fmt::format("{}+{:02}:{:02}", days, hours, minutes);
  return fmt::format("{:02}:{:02}", hours, minutes);
}

void AppendJsonRow(std::string& out, const SummaryRow& row) {
  out += "{\"host\":";
  AppendJsonString(out, row.label);
  out += ",\"address\":";
  AppendJsonString(out, row.address);
  if (!row.summary) {
    out += ",\"ok\":false,\"error\":";
    AppendJsonString(out, row.error);
    out += "}";
    return;
  }
  const HostSummary& s = *row.summary;
  out += ",\"ok\":true,\"hostname\":";
  AppendJsonString(out, s.hostname);
  out += ",\"boot_id\":";
  if (s.boot_id.empty()) {
    out += "null";
  } else {
    AppendJsonString(out, s.boot_id);
  }
  out += fmt::format(
      ",\"time_us\":{},\"boot_time_us\":{},\"uptime_s\":{},\"load\":[{:.2f},{:.2f},{:.2f}],"
      "\"users\":{},\"sessions\":{},\"last_seq\":{}}}",
      s.now_us, s.boot_time_us, s.uptime_s, s.load[0], s.load[1], s.load[2], s.users, s.sessions,
      s.last_seq);
}

// One line per answer: label, host name, uptime, counts and load, columns aligned. Failures go
// to stderr. Returns whether every row had an answer.
bool PrintSummaries(const UdpArgs& a, const std::vector<SummaryRow>& rows) {
  Output out(stdout);
  bool all = true;
  if (a.json) {
    out.buffer() += "{\"hosts\":[";
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i > 0) out.buffer() += ",";
      AppendJsonRow(out.buffer(), rows[i]);
      all = all && rows[i].summary.has_value();
    }
    out.buffer() += "]}\n";
    return out.Flush() && all;
  }
  size_t label_width = 0, name_width = 0;
  for (const SummaryRow& r : rows) {
    if (!r.summary) continue;
    label_width = std::max(label_width, Safe(r.label).size());
    name_width = std::max(name_width, Safe(r.summary->hostname).size());
  }
  for (const SummaryRow& r : rows) {
    if (!r.summary) {
      out.Flush();
      fmt::print(stderr, "utmpc {}: {}: {}\n", a.command, Safe(r.label), r.error);
      all = false;
      continue;
    }
    const HostSummary& s = *r.summary;
    out.buffer() += fmt::format(
        "{:<{}}  {:<{}}  up {:>8}, {:>4} {:<6} {:>4} {:<9} load {:.2f}, {:.2f}, {:.2f}\n",
        Safe(r.label), label_width, Safe(s.hostname), name_width, FormatUptime(s.uptime_s), s.users,
        s.users == 1 ? "user," : "users,", s.sessions, s.sessions == 1 ? "session," : "sessions,",
        s.load[0], s.load[1], s.load[2]);
  }
  return out.Flush() && all;
}

struct SummaryAsk {
  SummaryRow row;
  std::optional<UdpSocket> socket;
  size_t size = kUdpSummaryRequestBytes;
  bool done = false;
};

// Reads every reply waiting for `ask`; a "too small" answer is asked again at the size named.
void TakeSummaryReplies(SummaryAsk& ask, uint32_t id) {
  while (!ask.done) {
    auto reply = ask.socket->ReceiveNow();
    if (!reply) {
      ask.row.error = reply.error().message;
      ask.done = true;
      return;
    }
    if (!*reply) return;
    const UdpReply& r = **reply;
    if (r.request_id != id || r.op != UdpOp::kSummary) continue;
    if (r.status == UdpStatus::kTooSmall && r.needed_bytes > ask.size) {
      ask.size = r.needed_bytes;
      (void)ask.socket->Send(EncodeUdpRequest(UdpRequest{UdpOp::kSummary, id, 0}, ask.size));
    } else if (r.status == UdpStatus::kOk) {
      ask.row.summary = r.summary;
      ask.done = true;
    }
  }
}

// Asks every host at once; a host that has not answered is asked again after a third and two
// thirds of the timeout (a datagram may be lost).
std::vector<SummaryRow> AskSummaries(std::vector<UdpPeer> peers, int64_t timeout_ns) {
  uint32_t id = RandomRequestId();
  std::vector<SummaryAsk> asks;
  for (UdpPeer& p : peers) {
    SummaryAsk ask;
    ask.row.label = p.label;
    ask.row.address = FormatEndpoint(p.endpoint);
    if (auto socket = UdpSocket::Connect(p.endpoint)) {
      ask.socket.emplace(std::move(*socket));
    } else {
      ask.row.error = socket.error().message;
      ask.done = true;
    }
    asks.push_back(std::move(ask));
  }
  int64_t start_ns = MonotonicNs();
  for (int round = 0; round < 3; ++round) {
    std::vector<const UdpSocket*> sockets;
    std::vector<SummaryAsk*> owners;
    for (SummaryAsk& ask : asks) {
      if (ask.done) continue;
      // At the size a "too small" answer named, if one came.
      auto sent = ask.socket->Send(EncodeUdpRequest(UdpRequest{UdpOp::kSummary, id, 0}, ask.size));
      if (!sent) ask.row.error = sent.error().message;
      sockets.push_back(&*ask.socket);
      owners.push_back(&ask);
    }
    int64_t until_ns = start_ns + timeout_ns * (round + 1) / 3;
    while (!sockets.empty() && MonotonicNs() < until_ns &&
           !std::all_of(owners.begin(), owners.end(), [](SummaryAsk* s) { return s->done; })) {
      for (size_t i : WaitReadable(sockets, until_ns)) TakeSummaryReplies(*owners[i], id);
    }
  }
  std::vector<SummaryRow> rows;
  for (SummaryAsk& ask : asks) {
    if (!ask.row.summary && ask.row.error.empty()) {
      ask.row.error = fmt::format("no answer within {:g} s", static_cast<double>(timeout_ns) / 1e9);
    }
    rows.push_back(std::move(ask.row));
  }
  return rows;
}

}  // namespace

int RunSummary(int argc, char** argv) {
  UdpArgs a;
  a.command = "summary";
  if (int rc = ParseArgs(argc, argv, {"W:p:h", kSummaryUsage, true}, &a); rc >= 0) return rc;
  if (a.hosts.empty()) return Fail(a, "no host given (utmpc summary HOST...)", kUsageError);
  bool failed = false;
  std::vector<UdpPeer> peers = Resolve(a, &failed);
  auto rows = AskSummaries(std::move(peers), a.timeout_ns.value_or(2 * kNsPerS));
  return PrintSummaries(a, rows) && !failed ? 0 : 1;
}

namespace {

// The broadcast or multicast endpoint to ask: "255.255.255.255", "192.0.2.255",
// "ff02::1%eth0" (the zone names the interface a link-local group is sent on).
Result<std::pair<IpEndpoint, unsigned>> BroadcastTarget(const UdpArgs& a) {
  std::string text = a.broadcast;
  unsigned scope = 0;
  if (size_t percent = text.find('%'); percent != std::string::npos) {
    scope = if_nametoindex(text.c_str() + percent + 1);
    if (scope == 0)
      return MakeError(ErrorCode::kNotFound, "no interface '" + text.substr(percent + 1) + "'");
    text.resize(percent);
  }
  auto address = ParseIpAddress(text);
  if (!address)
    return MakeError(ErrorCode::kInvalidArgument, "'" + a.broadcast + "' is not an IP address");
  return std::pair{IpEndpoint{*address, a.port}, scope};
}

// Collects the answers to SUMMARY request `id` until `deadline_ns`, one per answering
// endpoint, in address order. A "too small" answer is asked again directly at the size it
// names, as summary does. Bounded: of a LAN of more than 10,000 answering hosts, some are left
// out.
std::vector<SummaryRow> CollectAnswers(UdpSocket& socket, uint32_t id, int64_t deadline_ns) {
  using Key = std::tuple<bool, std::array<uint8_t, 16>, uint16_t>;
  std::map<Key, SummaryRow> found;
  while (found.size() < 10'000 && !WaitReadable({&socket}, deadline_ns).empty()) {
    IpEndpoint from;
    while (auto reply = socket.ReceiveNow(&from)) {
      if (!*reply) break;
      const UdpReply& r = **reply;
      if (r.request_id != id || r.op != UdpOp::kSummary) continue;
      if (r.status == UdpStatus::kTooSmall) {
        (void)socket.Send(EncodeUdpRequest(UdpRequest{UdpOp::kSummary, id, 0}, r.needed_bytes),
                          from);
        continue;
      }
      std::string address = FormatEndpoint(from);
      found[Key{from.address.v6, from.address.bytes, from.port}] =
          SummaryRow{address, address, r.summary, ""};
    }
  }
  std::vector<SummaryRow> rows;
  for (auto& [key, row] : found) rows.push_back(std::move(row));
  return rows;
}

}  // namespace

int RunDiscover(int argc, char** argv) {
  UdpArgs a;
  a.command = "discover";
  if (int rc = ParseArgs(argc, argv, {"W:p:h", kDiscoverUsage, true, true}, &a); rc >= 0) {
    return rc;
  }
  if (!a.hosts.empty()) return Fail(a, "unexpected argument '" + a.hosts[0] + "'", kUsageError);
  auto target = BroadcastTarget(a);
  if (!target) return Fail(a, target.error().message, kUsageError);
  auto socket = UdpSocket::ForBroadcast(target->first);
  if (!socket) return Fail(a, socket.error().message);
  if (unsigned scope = target->second; scope != 0) {
    ::setsockopt(socket->fd(), IPPROTO_IPV6, IPV6_MULTICAST_IF, &scope, sizeof scope);
  }
  uint32_t id = RandomRequestId();
  auto sent = socket->Send(
      EncodeUdpRequest(UdpRequest{UdpOp::kSummary, id, 0}, kUdpSummaryRequestBytes), target->first);
  if (!sent) return Fail(a, "sending to " + a.broadcast + ": " + sent.error().message);
  int64_t timeout_ns = a.timeout_ns.value_or(2 * kNsPerS);
  std::vector<SummaryRow> rows = CollectAnswers(*socket, id, MonotonicNs() + timeout_ns);
  if (rows.empty() && !a.json) {
    fmt::print(stderr,
               "utmpc discover: no host answered within {:g} s (utmpcd answers a broadcast only "
               "where its configuration says discovery = true under [udp])\n",
               static_cast<double>(timeout_ns) / 1e9);
    return 1;
  }
  return PrintSummaries(a, rows) && !rows.empty() ? 0 : 1;
}

}  // namespace utmpcd
