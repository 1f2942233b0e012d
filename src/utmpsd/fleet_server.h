// FleetServer: utmpsd at work. On one event loop: port 430's HTTP server (the fleet API and the
// fleet event stream), and one follower per host this instance holds the lease of, subscribed
// to the host's /v1/events from the last seq stored for it. Events go to the store thread in
// batches (whatever arrived while the previous batch was being committed: one transaction for
// all hosts, so a burst costs few commits and a quiet fleet waits for nothing). Queries of the
// API run on a query thread with a connection of their own.
//
// Nothing is lost or stored twice: the store skips what it holds (events keyed (host, seq)),
// and when a batch cannot be stored every follower stops and, once the store answers again,
// starts anew from what the store committed.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "utmpsd/config.h"

namespace utmpcd {

struct FleetServerOptions {
  FleetConfig config;
  std::vector<int> inherited_fds;  // listening sockets systemd handed over
  std::string version;
  // Applied to the configuration as read again at each SIGHUP (the command line's settings).
  std::function<void(FleetConfig&)> overrides;
  std::string hosts_file;  // --hosts-file ("" : the configuration's)
};

class FleetServer {
 public:
  // Opens the store (its schema made or migrated) and binds port 430; follows nothing until
  // Run.
  static Result<std::unique_ptr<FleetServer>> Open(FleetServerOptions options);
  ~FleetServer();

  // The addresses bound ("127.0.0.1:430").
  std::vector<std::string> endpoints() const;
  // Runs until SIGTERM or SIGINT (SIGHUP: the configuration and hosts file are read again).
  // `ready` is called once the server serves (sd_notify).
  void Run(const std::string& config_path, bool config_required,
           const std::function<void()>& ready);

  class Impl;

 private:
  explicit FleetServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace utmpcd
