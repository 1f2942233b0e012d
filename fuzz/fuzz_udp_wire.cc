// Port 431's datagrams (api/udp_wire.h) on arbitrary bytes, both ways: what the daemon
// decodes from anyone on the network, and what utmpc decodes from anyone who answers.
// - A request that decodes is 16..1200 bytes and encodes back to exactly those bytes; the
//   daemon's answer to it is never larger than it, and decodes as the reply to its id and op.
// - A reply that decodes encodes back to exactly the bytes it came from (one encoding per
//   reply), so the decoder accepts nothing the format does not describe.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/udp_wire.h"
#include "fuzz/fuzz_check.h"

namespace {

using utmpcd::fuzz::Check;

utmpcd::LiveSession Session(std::string user, std::string line, std::string host, int64_t t) {
  utmpcd::LiveSession s;
  s.user = std::move(user);
  s.line = std::move(line);
  s.host = std::move(host);
  s.login_time_us = t;
  return s;
}

// What the daemon answers from: text long enough to be cut, and sessions of every size.
struct Host {
  utmpcd::HostSummary summary;
  std::vector<utmpcd::LiveSession> sessions;

  Host() {
    summary.hostname = std::string(300, 'h');
    summary.boot_id = "0f5b8a2e-9c1d-4e7f-a3b6-2d4c8e1f0a9b";
    summary.now_us = 1764353045000000;
    summary.uptime_s = 731045;
    summary.load = {0.12, 8.5, 1e12};
    summary.users = 3;
    summary.sessions = 5;
    sessions.push_back(Session("alice", "pts/0", "192.0.2.7", 1764349201000000));
    sessions.push_back(Session(std::string(32, 'u'), "tty1", "", 0));
    sessions.push_back(Session("bob", "pts/1", std::string(256, 'x'), -1));
    for (int i = 0; i < 40; ++i) sessions.push_back(Session("carol", "pts/9", "\x1b[31m", i));
  }
};

void CheckRequest(std::string_view bytes) {
  auto request = utmpcd::DecodeUdpRequest(bytes);
  if (!request) {
    Check(request.error().message.rfind("udp: ", 0) == 0, "error names the udp format");
    return;
  }
  Check(bytes.size() >= utmpcd::kMinUdpRequestBytes, "request at least 16 bytes");
  Check(bytes.size() <= utmpcd::kMaxUdpDatagramBytes, "request at most 1200 bytes");
  Check(utmpcd::EncodeUdpRequest(*request, bytes.size()) == bytes, "request round trip");
  static const Host host;
  std::array<char, utmpcd::kMaxUdpDatagramBytes> out;
  size_t n = utmpcd::AnswerUdpRequest(*request, bytes.size(),
                                      {host.summary, host.sessions, 1764353046000000}, out);
  Check(n <= bytes.size(), "the reply is never larger than the request");
  auto reply = utmpcd::DecodeUdpReply(std::string_view(out.data(), n));
  Check(static_cast<bool>(reply), "the daemon's reply decodes");
  Check(reply->request_id == request->request_id && reply->op == request->op,
        "the reply answers the request");
}

void CheckReply(std::string_view bytes) {
  auto reply = utmpcd::DecodeUdpReply(bytes);
  if (!reply) {
    Check(reply.error().message.rfind("udp: ", 0) == 0, "error names the udp format");
    return;
  }
  Check(utmpcd::EncodeUdpReply(*reply) == bytes, "reply round trip");
  for (const utmpcd::UdpSession& s : reply->sessions) {
    Check(s.user.size() <= utmpcd::kMaxUdpTextBytes, "text within its bound");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  CheckRequest(bytes);
  CheckReply(bytes);
  return 0;
}
