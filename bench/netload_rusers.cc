// rusersd's rate, measured the way its own client asks: Sun RPC calls through libtirpc, to the
// program rpcbind names on the target host. The XDR routines of rpcsvc/rusers.x version 3 are
// written out here: Debian ships the .x and a header, but no library with their code.
#include <rpc/rpc.h>

#include <atomic>
#include <stdexcept>
#include <string>

#include "bench/netload_udp.h"

namespace utmpcd::bench {
namespace {

constexpr rpcprog_t kRusersProgram = 100002;  // RUSERSPROG
// Bounds of rusers.x (RUSERS_MAXUSERLEN, RUSERS_MAXLINELEN, RUSERS_MAXHOSTLEN).
constexpr u_int kMaxUser = 32, kMaxLine = 32, kMaxHost = 257;
// A sane bound on the entries of one answer, so a bad answer cannot make XDR allocate gigabytes.
constexpr u_int kMaxEntries = 100000;

// An XDR routine as clnt_call and xdr_free take it. Through void (*)(), the one function pointer
// type that g++'s -Wcast-function-type lets any other be cast to: libtirpc's xdrproc_t is
// variadic, and xdr_void takes no arguments at all.
template <typename F>
xdrproc_t Xdr(F routine) {
  return reinterpret_cast<xdrproc_t>(reinterpret_cast<void (*)()>(routine));
}

struct RusersUtmp {  // struct rusers_utmp
  char* user;
  char* line;
  char* host;
  int type;
  int time;
  u_int idle;
};
struct UtmpArray {  // utmp_array
  u_int len;
  RusersUtmp* val;
};

bool_t XdrRusersUtmp(XDR* x, RusersUtmp* u) {
  return xdr_string(x, &u->user, kMaxUser) && xdr_string(x, &u->line, kMaxLine) &&
         xdr_string(x, &u->host, kMaxHost) && xdr_int(x, &u->type) && xdr_int(x, &u->time) &&
         xdr_u_int(x, &u->idle);
}

bool_t XdrUtmpArray(XDR* x, UtmpArray* a) {
  return xdr_array(x, reinterpret_cast<char**>(&a->val), &a->len, kMaxEntries, sizeof(RusersUtmp),
                   Xdr(XdrRusersUtmp));
}

// One call; on success *answer is the count NUM returned or the entries NAMES listed.
clnt_stat Call(CLIENT* client, RusersProc proc, timeval timeout, u_int* answer) {
  if (proc == RusersProc::kNum) {
    return clnt_call(client, static_cast<rpcproc_t>(proc), Xdr(xdr_void), nullptr, Xdr(xdr_u_int),
                     reinterpret_cast<char*>(answer), timeout);
  }
  UtmpArray users{};
  clnt_stat status = clnt_call(client, static_cast<rpcproc_t>(proc), Xdr(xdr_void), nullptr,
                               Xdr(XdrUtmpArray), reinterpret_cast<char*>(&users), timeout);
  *answer = users.len;
  xdr_free(Xdr(XdrUtmpArray), reinterpret_cast<char*>(&users));
  return status;
}

// Decodes `answer` as the accepted, successful reply with xid `id` to `proc`, with libtirpc's
// own routines; *entries gets what NUM counted or how many users NAMES listed.
bool DecodeReply(std::string_view answer, uint32_t id, RusersProc proc, u_int* entries) {
  u_int count = 0;
  UtmpArray users{};
  char verifier[MAX_AUTH_BYTES];  // decoded into, rather than allocated by XDR
  rpc_msg reply{};
  reply.acpted_rply.ar_verf.oa_base = verifier;
  if (proc == RusersProc::kNum) {
    reply.acpted_rply.ar_results.where = reinterpret_cast<char*>(&count);
    reply.acpted_rply.ar_results.proc = Xdr(xdr_u_int);
  } else {
    reply.acpted_rply.ar_results.where = reinterpret_cast<char*>(&users);
    reply.acpted_rply.ar_results.proc = Xdr(XdrUtmpArray);
  }
  XDR x;
  xdrmem_create(&x, const_cast<char*>(answer.data()), static_cast<u_int>(answer.size()),
                XDR_DECODE);
  bool ok = xdr_replymsg(&x, &reply) && reply.rm_xid == id &&
            reply.rm_reply.rp_stat == MSG_ACCEPTED && reply.acpted_rply.ar_stat == SUCCESS;
  xdr_destroy(&x);
  *entries = proc == RusersProc::kNum ? count : users.len;
  xdr_free(Xdr(XdrUtmpArray), reinterpret_cast<char*>(&users));
  return ok;
}

std::string HostOf(const Endpoint& target) {
  std::string text = target.text.substr(0, target.text.rfind(':'));
  if (text.size() >= 2 && text.front() == '[') text = text.substr(1, text.size() - 2);
  return text;
}

}  // namespace

UdpExchange RusersExchange(RusersProc proc, int version) {
  UdpExchange e;
  e.request = [proc, version](uint32_t id) {
    rpc_msg call{};
    call.rm_xid = id;
    call.rm_direction = CALL;
    call.rm_call.cb_rpcvers = RPC_MSG_VERSION;
    call.rm_call.cb_prog = kRusersProgram;
    call.rm_call.cb_vers = static_cast<rpcvers_t>(version);
    call.rm_call.cb_proc = static_cast<rpcproc_t>(proc);
    call.rm_call.cb_cred = _null_auth;
    call.rm_call.cb_verf = _null_auth;
    char buffer[128];  // the call header with null credentials: 40 bytes; no arguments follow
    XDR x;
    xdrmem_create(&x, buffer, sizeof buffer, XDR_ENCODE);
    bool ok = xdr_callmsg(&x, &call);
    std::string datagram(buffer, ok ? xdr_getpos(&x) : 0);
    xdr_destroy(&x);
    return datagram;
  };
  e.answers = [proc](std::string_view answer, uint32_t id) {
    u_int entries = 0;
    return DecodeReply(answer, id, proc, &entries);
  };
  return e;
}

Endpoint RusersEndpoint(const Endpoint& rpcbind, int version) {
  if (rpcbind.ipv6()) throw std::invalid_argument("rusers: an IPv4 rpcbind address");
  sockaddr_in where = *reinterpret_cast<const sockaddr_in*>(&rpcbind.addr);
  u_short port = pmap_getport(&where, kRusersProgram, static_cast<u_long>(version), IPPROTO_UDP);
  if (port == 0) throw std::runtime_error("rpcbind on " + rpcbind.text + " knows no rusersd");
  return ParseLoopback(HostOf(rpcbind) + ":" + std::to_string(port));
}

nlohmann::json RunRusers(const LoadOptions& o, RusersProc proc, int version) {
  if (version != 2 && version != 3) throw std::invalid_argument("rusers version: 2 or 3");
  if (proc == RusersProc::kNames && version != 3) {
    throw std::invalid_argument("rusers names: version 3 only");
  }
  std::string host = HostOf(o.target);
  int64_t measure_from = NowNs() + SecondsToNs(o.warmup_s);
  int64_t end = measure_from + SecondsToNs(o.seconds);
  std::atomic<u_int> last_answer{0};
  nlohmann::json report = RunThreads(o.threads, o.seconds, [&](int, Tally* tally) {
    CLIENT* client =
        clnt_create(host.c_str(), kRusersProgram, static_cast<rpcvers_t>(version), "udp");
    if (client == nullptr) {
      tally->Error(clnt_spcreateerror("clnt_create"));
      return;
    }
    // A lost datagram is sent again after 1 s, not libtirpc's default 15 s.
    timeval retry{1, 0};
    clnt_control(client, CLSET_RETRY_TIMEOUT, reinterpret_cast<char*>(&retry));
    timeval timeout{static_cast<time_t>(o.timeout_s), 0};
    for (int64_t now = NowNs(); now < end;) {
      u_int answer = 0;
      clnt_stat status = Call(client, proc, timeout, &answer);
      int64_t done = NowNs();
      if (done >= measure_from && done < end) {
        if (status != RPC_SUCCESS) {
          tally->Error(clnt_sperrno(status));
        } else {
          ++tally->ok;
          tally->latency.Add(done - now);
          last_answer = answer;
        }
      }
      now = done;
    }
    clnt_destroy(client);
  });
  report["answer"] = last_answer.load();
  return report;
}

}  // namespace utmpcd::bench
