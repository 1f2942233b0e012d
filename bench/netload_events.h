// netload's event-stream modes: many idle watchers of GET /v1/events, and the latency from a
// login written to wtmp to the event a watcher receives. Internal to bench/.
#pragma once

#include <string>
#include <vector>

#include "bench/netload.h"

namespace utmpcd::bench {

struct WatchersOptions {
  Endpoint target;
  int count = 10000;            // event streams to open
  int concurrency = 256;        // connects and request heads in flight at once
  double open_timeout_s = 120;  // opening all of them may take this long at most
  double hold_s = 10;           // then they are held idle this long
  std::vector<in_addr> sources;
  int daemon_pid = 0;  // when set, its VmRSS is read before and with the watchers
  std::string wtmp;    // when set, a login appended here must reach every watcher
  double deliver_timeout_s = 30;
  bool tls = false;  // each stream over TLS (the server's certificate not verified)
};

// Opens `count` streams (each must answer 200 text/event-stream), holds them, then (with
// `wtmp`) appends one login and waits for it on every stream. Reports how many opened, how many
// were still open after the hold, the daemon's RSS, and how long the login took to reach them.
nlohmann::json RunWatchers(const WatchersOptions& options);

struct LatencyOptions {
  std::string wtmp;      // the daemon's wtmp: logins are appended here
  int count = 1000;      // logins measured
  double pace_ms = 5;    // pause after each login has been seen
  double timeout_s = 5;  // a login not seen this long is an error
  // The watcher: a command whose standard output is read (`utmpc watch ...`), or, when the
  // command is empty, netload's own event-stream client on `target`.
  std::vector<std::string> command;
  Endpoint target;
};

// Appends logins to wtmp one at a time, each with a unique remote host, and times how long each
// takes to appear in what the watcher prints (or streams): from just before write(2) of the
// record to the read(2) that brought its host name, both on CLOCK_MONOTONIC.
nlohmann::json RunLatency(const LatencyOptions& options);

}  // namespace utmpcd::bench
