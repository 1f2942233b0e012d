// UdpServer: port 431 over UDP (docs/PROTOCOL.md, "UDP"). One datagram in, at most one out,
// never larger than the one that asked, never to a broadcast or multicast source, and no more
// often than the rate limit allows per source prefix. Runs on the caller's EventLoop.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/host_summary.h"
#include "core/result.h"
#include "net/udp_address.h"
#include "sources/utmp_snapshot.h"

namespace utmpcd {

class EventLoop;

// Where and how the UDP side listens.
struct UdpOptions {
  // Numeric addresses with ports: "127.0.0.1:431", "[::1]:431", "0.0.0.0:431", "[::]:431".
  // Port 0 picks a free port (see UdpServer::LocalEndpoints). An IPv6 socket is IPv6-only, so
  // "0.0.0.0:431" and "[::]:431" may be given together.
  std::vector<std::string> listen;
  // Datagram sockets handed over (systemd socket activation), IPv4 or IPv6, served besides
  // `listen`. The server owns them from Open on.
  std::vector<int> inherited_fds;
  // Datagrams a second answered per source prefix (/24 for IPv4, /64 for IPv6) once its burst
  // is spent; 0 answers every datagram (benchmarks on loopback).
  double rate_per_prefix = 20;
  // Datagrams a prefix may send at once before the rate applies.
  double burst = 40;
  // Answer datagrams sent to a broadcast or multicast address (LAN discovery, `utmpc
  // discover`). Only a wildcard listen address ("0.0.0.0:431") receives broadcasts at all.
  bool discovery = false;
  // The snapshot answers are made from is taken again when it is older than this (and after
  // UdpServer::Invalidate), so a flood of queries costs one Provider call a second.
  int snapshot_max_age_ms = 1000;
  // Whether a source address may be sent the session list (the SESSIONS op; no token travels
  // in a datagram, and its source can be forged, so only the source network counts). Unset:
  // every source may. Called on the loop's thread.
  std::function<bool(const IpAddress&)> may_list_sessions;
};

// What UDP answers from: the host summary and the live sessions, in the order a SESSIONS
// reply lists them.
struct UdpSnapshot {
  HostSummary summary;
  std::vector<LiveSession> sessions;
};

// Counters since Open; each datagram read counts in `received` and in exactly one other.
struct UdpStats {
  uint64_t received = 0;
  uint64_t answered = 0;              // a reply was sent (including "too small")
  uint64_t dropped_malformed = 0;     // not a request: oversized, truncated, bad magic, ...
  uint64_t dropped_rate_limited = 0;  // the source prefix had no token left
  uint64_t dropped_source = 0;        // from a broadcast, multicast, unspecified or port-0 source
  uint64_t dropped_broadcast = 0;     // sent to a broadcast or multicast address, discovery off
  uint64_t send_failed = 0;           // the reply could not be sent (full buffer, no route)
};

class UdpServer {
 public:
  // Called on the loop's thread when a request needs the data and the snapshot is stale.
  using Provider = std::function<UdpSnapshot()>;

  UdpServer();
  ~UdpServer();
  UdpServer(const UdpServer&) = delete;
  UdpServer& operator=(const UdpServer&) = delete;

  // Binds every address of `options.listen` and starts answering on `loop`. Fails
  // (kInvalidArgument for an address that does not parse, kIo when a bind fails) with nothing
  // left open. Call once; `loop` must outlive the server, and the server must be destroyed (or
  // Closed) before `loop` is.
  Result<void> Open(EventLoop& loop, const UdpOptions& options, Provider provider);

  // The addresses bound, as "127.0.0.1:43117" or "[::1]:43117": the ports port 0 picked.
  std::vector<std::string> LocalEndpoints() const;

  // The counters. Safe from any thread.
  UdpStats Stats() const;

  // The next request takes a new snapshot (the sessions or the summary changed). Safe from any
  // thread.
  void Invalidate();

  // Stops answering and closes the sockets. Call on the loop's thread, or when it is not
  // running. The destructor does it too.
  void Close();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace utmpcd
