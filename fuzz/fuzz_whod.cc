// rwhod's status packet (api/whod.h), as utmpsd's rwho intake takes it from UDP 513, on
// arbitrary bytes. Never a crash; what decodes keeps the promises the rest relies on (a host
// name that is a safe file name, at most 42 entries, printable user and tty names, no negative
// idle time or load); encoding it again and decoding that gives the same status; times read
// near different clocks are the same modulo 2^32 and within 68 years of the clock.
#include <cstdint>
#include <span>

#include "api/whod.h"
#include "fuzz/fuzz_check.h"

namespace {

bool Printable(const std::string& s) {
  for (char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using utmpcd::fuzz::Check;
  std::span<const uint8_t> bytes(data, size);
  for (int64_t now : {int64_t{1764349201}, int64_t{2147483647} + 86400, int64_t{4294967296} + 7}) {
    auto status = utmpcd::DecodeWhod(bytes, now);
    if (!status) continue;
    Check(size >= utmpcd::kWhodHeaderSize && size <= utmpcd::kWhodMaxSize, "size within bounds");
    Check(!status->hostname.empty() && status->hostname.size() < 32, "host name length");
    for (char c : status->hostname)
      Check(c != '/' && c > 0x20 && c < 0x7f, "host name bytes");
    Check(status->hostname != "." && status->hostname != "..", "host name is no directory");
    Check(status->entries.size() <= utmpcd::kWhodMaxEntries, "at most 42 entries");
    for (const auto& e : status->entries) {
      Check(!e.user.empty() && e.user.size() <= 8 && e.tty.size() <= 8, "field lengths");
      Check(Printable(e.user) && Printable(e.tty), "printable names");
      Check(e.idle_s >= 0, "idle not negative");
      Check(e.login_s - now <= (int64_t{1} << 31) && now - e.login_s <= (int64_t{1} << 31),
            "a time within 68 years of the clock");
    }
    for (int32_t l : status->load100) Check(l >= 0, "load not negative");
    auto again = utmpcd::DecodeWhod(utmpcd::EncodeWhod(*status), now);
    Check(again.has_value(), "an encoded status decodes");
    Check(again->hostname == status->hostname && again->boot_s == status->boot_s &&
              again->send_s == status->send_s && again->load100 == status->load100 &&
              again->entries.size() == status->entries.size(),
          "the round trip keeps the status");
    for (size_t i = 0; i < again->entries.size(); ++i) {
      Check(again->entries[i].user == status->entries[i].user &&
                again->entries[i].tty == status->entries[i].tty &&
                again->entries[i].login_s == status->entries[i].login_s &&
                again->entries[i].idle_s == status->entries[i].idle_s,
            "the round trip keeps the entries");
    }
    Check(utmpcd::EncodeWhodSpool(*status).size() == size, "the spool file is the packet's size");
  }
  return 0;
}
