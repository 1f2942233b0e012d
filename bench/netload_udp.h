// netload's datagram modes: utmpcd's UDP queries, and rusersd over Sun RPC (libtirpc).
// Internal to bench/.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "bench/netload.h"

namespace utmpcd::bench {

// One kind of UDP query: the datagram asking with request id `id`, and whether a datagram
// received is the answer to it.
struct UdpExchange {
  std::function<std::string(uint32_t id)> request;
  std::function<bool(std::string_view answer, uint32_t id)> answers;
};

// utmpcd's SUMMARY query (docs/PROTOCOL.md, "UDP"): a request padded to the size a summary
// needs; an answer must decode as the SUMMARY reply to it, status ok.
UdpExchange SummaryExchange();

// `connections` sockets, each with one request outstanding at a time.
nlohmann::json RunUdp(const LoadOptions& options, const UdpExchange& exchange);

// The rusers procedures (rpcsvc/rusers.x): NUM answers a count, NAMES the users logged in.
enum class RusersProc { kNum = 1, kNames = 2 };

// A rusers call over netload's own UDP sockets (RunUdp), so that rusersd and utmpcd are asked
// by the same client code: the call encoded and the reply decoded by libtirpc's XDR routines
// (xdr_callmsg, xdr_replymsg), the request id as the RPC xid.
UdpExchange RusersExchange(RusersProc proc, int version);
// Where rusersd `version` listens, as the rpcbind on `rpcbind` (an IPv4 loopback address)
// tells. Throws when it knows none.
Endpoint RusersEndpoint(const Endpoint& rpcbind, int version);

// `threads` threads, each with its own libtirpc CLIENT (clnt_create over udp to the host of
// `target`, which must run rpcbind), calling `proc` of RUSERSPROG version `version` (2 or 3;
// kNames needs 3) one call after another for the measured time. `target`'s port is unused:
// rpcbind tells where rusersd is.
nlohmann::json RunRusers(const LoadOptions& options, RusersProc proc, int version);

}  // namespace utmpcd::bench
