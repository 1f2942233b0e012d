// netload: the load generator of bench/net.sh. One mode a run; the result is one JSON object on
// standard output. Every mode sends only to loopback addresses and stops by itself.
//
//   netload http TARGET [--path P] [--tls]    GETs over keep-alive connections
//   netload connect TARGET (--http P | --finger Q) [--tls [--resume]]
//                                             one new connection per request, to EOF
//   netload udp TARGET                        utmpcd's UDP summary query
//   netload rusers HOST:111 [--proc num|names] [--client tirpc|netload]   rusersd
//   netload watchers TARGET --count N [--tls] N idle GET /v1/events streams held
//   netload latency --wtmp F [-- CMD...]      login written -> shown by a watcher
#include "bench/netload.h"

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <stdexcept>

#include "bench/netload_events.h"
#include "bench/netload_udp.h"

namespace utmpcd::bench {
namespace {

// Options every throughput mode has.
struct Common {
  std::string target;
  int connections = 32;
  int threads = 1;
  double seconds = 10;
  double warmup_s = 1;
  double timeout_s = 5;
  int sources = 0;
  std::string expect;
  bool tls = false;
  bool resume = false;
  int tls_version = 0;
};

void AddCommon(CLI::App* app, Common* c, const char* target_help) {
  app->add_option("target", c->target, target_help)->required();
  app->add_option("-c,--connections", c->connections, "connections (or sockets) in parallel")
      ->check(CLI::Range(1, 65536));
  app->add_option("-t,--threads", c->threads, "threads")->check(CLI::Range(1, 64));
  app->add_option("-d,--seconds", c->seconds, "measured seconds")->check(CLI::Range(0.1, 600.0));
  app->add_option("--warmup", c->warmup_s, "unmeasured seconds first")
      ->check(CLI::Range(0.0, 60.0));
  app->add_option("--timeout", c->timeout_s, "seconds before a request is an error")
      ->check(CLI::Range(0.1, 60.0));
  app->add_option("--sources", c->sources, "bind to 127.0.0.1..127.0.0.N in turn")
      ->check(CLI::Range(0, 254));
  app->add_option("--expect", c->expect, "each answer must contain this (TCP modes)");
  app->add_flag("--tls", c->tls, "TLS over each connection (TCP modes; not verified)");
  app->add_flag("--resume", c->resume, "resume each connection's previous TLS session");
  app->add_option("--tls-version", c->tls_version, "12: TLS 1.2 at most")
      ->check(CLI::IsMember({0, 12}));
}

LoadOptions ToLoad(const Common& c, const std::string& target_text) {
  LoadOptions o;
  o.target = ParseLoopback(target_text);
  o.connections = c.connections;
  o.threads = std::min(c.threads, c.connections);
  o.seconds = c.seconds;
  o.warmup_s = c.warmup_s;
  o.timeout_s = c.timeout_s;
  o.sources = LoopbackSources(c.sources);
  o.expect = c.expect;
  o.tls = c.tls;
  o.resume = c.resume;
  o.tls_version = c.tls_version;
  return o;
}

int Main(int argc, char** argv) {
  CLI::App app{"netload: loopback load for bench/net.sh; prints one JSON object"};
  app.require_subcommand(1);

  Common http;
  std::string http_path = "/v1/sessions";
  CLI::App* http_cmd = app.add_subcommand("http", "HTTP GETs over keep-alive connections");
  AddCommon(http_cmd, &http, "HOST:PORT of the HTTP server");
  http_cmd->add_option("--path", http_path, "request path");

  Common conn;
  std::string conn_http, conn_finger;
  bool finger_given = false;
  CLI::App* conn_cmd = app.add_subcommand("connect", "one new TCP connection per request");
  AddCommon(conn_cmd, &conn, "HOST:PORT");
  auto* http_opt = conn_cmd->add_option("--http", conn_http, "GET this path, Connection: close");
  auto* finger_opt = conn_cmd->add_option("--finger", conn_finger,
                                          "send this finger query and CR LF (\"\" lists all)");
  http_opt->excludes(finger_opt);

  Common rusers;
  std::string rusers_proc = "num";
  int rusers_version = 3;
  CLI::App* rusers_cmd =
      app.add_subcommand("rusers", "rusersd calls (libtirpc, or the udp mode's sockets)");
  AddCommon(rusers_cmd, &rusers, "HOST:PORT of rpcbind (127.0.0.1:111)");
  rusers_cmd->add_option("--proc", rusers_proc, "num (a count) or names (the users)")
      ->check(CLI::IsMember({"num", "names"}));
  rusers_cmd->add_option("--rpc-version", rusers_version, "RUSERSVERS: 2 or 3");
  std::string rusers_client = "tirpc";
  rusers_cmd
      ->add_option("--client", rusers_client,
                   "tirpc: a CLIENT per thread, as rusers asks; netload: the udp mode's sockets")
      ->check(CLI::IsMember({"tirpc", "netload"}));

  Common udp;
  CLI::App* udp_cmd = app.add_subcommand("udp", "utmpcd UDP summary queries");
  AddCommon(udp_cmd, &udp, "HOST:PORT of utmpcd's UDP port");

  WatchersOptions w;
  std::string w_target;
  int w_sources = 0;
  CLI::App* w_cmd = app.add_subcommand("watchers", "idle GET /v1/events streams held open");
  w_cmd->add_option("target", w_target, "HOST:PORT of the HTTP server")->required();
  w_cmd->add_option("--count", w.count, "streams")->check(CLI::Range(1, 60000));
  w_cmd->add_option("--concurrency", w.concurrency, "opening at once")->check(CLI::Range(1, 4096));
  w_cmd->add_option("--hold", w.hold_s, "seconds held idle")->check(CLI::Range(0.0, 600.0));
  w_cmd->add_option("--sources", w_sources, "bind to 127.0.0.1..127.0.0.N in turn")
      ->check(CLI::Range(0, 254));
  w_cmd->add_option("--pid", w.daemon_pid, "the daemon's pid, for its RSS");
  w_cmd->add_option("--wtmp", w.wtmp, "append a login here; every stream must carry it");
  w_cmd->add_flag("--tls", w.tls, "each stream over TLS (not verified)");

  LatencyOptions l;
  std::string l_sse;
  CLI::App* l_cmd = app.add_subcommand("latency", "login written to wtmp -> shown by a watcher");
  l_cmd->add_option("--wtmp", l.wtmp, "the daemon's wtmp")->required();
  l_cmd->add_option("--count", l.count, "logins")->check(CLI::Range(1, 100000));
  l_cmd->add_option("--pace-ms", l.pace_ms, "pause after each")->check(CLI::Range(0.0, 1000.0));
  l_cmd->add_option("--sse", l_sse, "HOST:PORT: read GET /v1/events instead of a command");
  l_cmd->add_option("command", l.command, "the watcher, after --: utmpc watch ...");

  CLI11_PARSE(app, argc, argv);
  nlohmann::json report;
  if (http_cmd->parsed()) {
    LoadOptions o = ToLoad(http, http.target);
    o.request = HttpGet(http_path, o.target, false);
    report = RunKeepAlive(o);
  } else if (conn_cmd->parsed()) {
    LoadOptions o = ToLoad(conn, conn.target);
    finger_given = finger_opt->count() > 0;
    if (!finger_given && http_opt->count() == 0) throw std::invalid_argument("--http or --finger");
    o.request = finger_given ? conn_finger + "\r\n" : HttpGet(conn_http, o.target, true);
    report = RunConnectPerRequest(o, !finger_given);
  } else if (rusers_cmd->parsed()) {
    RusersProc proc = rusers_proc == "num" ? RusersProc::kNum : RusersProc::kNames;
    LoadOptions o = ToLoad(rusers, rusers.target);
    if (rusers_client == "tirpc") {
      report = RunRusers(o, proc, rusers_version);
    } else {
      o.target = RusersEndpoint(o.target, rusers_version);
      report = RunUdp(o, RusersExchange(proc, rusers_version));
    }
  } else if (udp_cmd->parsed()) {
    report = RunUdp(ToLoad(udp, udp.target), SummaryExchange());
  } else if (w_cmd->parsed()) {
    w.target = ParseLoopback(w_target);
    w.sources = LoopbackSources(w_sources);
    report = RunWatchers(w);
  } else if (l_cmd->parsed()) {
    if (l_sse.empty() == l.command.empty()) {
      throw std::invalid_argument("latency: --sse HOST:PORT or a command after --");
    }
    if (!l_sse.empty()) l.target = ParseLoopback(l_sse);
    report = RunLatency(l);
  }
  std::cout << report.dump() << '\n';
  return 0;
}

}  // namespace
}  // namespace utmpcd::bench

int main(int argc, char** argv) {
  // A TLS write to a connection the server closed is an error to count, not a signal.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    return utmpcd::bench::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "netload: " << e.what() << '\n';
    return 1;
  }
}
