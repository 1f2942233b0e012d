// rwhod's status packet (UDP 513; REFERENCE.md, "The legacy network peers"; docs/FLEET.md,
// "rwho and ruptime"), without the network: a datagram decoded with strict lengths, and the
// file rwhod keeps of each host in /var/spool/rwho, which rwho(1) and ruptime(1) read.
//
// The packet is a 60-byte header (version, type, two pad bytes, send and receive times, the
// host name in 32 bytes, three load averages times 100, the boot time) and 0 to 42 entries of
// 24 bytes (tty in 8, user in 8, login time, idle seconds), every integer a big-endian int32.
// Its times are 32 bits: each is read as the time nearest the receiver's clock that has those
// low 32 bits, so that a packet sent after January 2038 (when a signed 32-bit time goes
// negative) or after 2106 (when an unsigned one wraps) still has its real time.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"

namespace utmpcd {

inline constexpr uint16_t kWhodPort = 513;
inline constexpr size_t kWhodHeaderSize = 60;
inline constexpr size_t kWhodEntrySize = 24;
inline constexpr size_t kWhodMaxEntries = 1024 / kWhodEntrySize;  // 42, as rwhod's array
// rwhod fills at most 41 of them (its loop stops before the array's last): a packet this full
// may have left sessions out.
inline constexpr size_t kWhodMaxSent = kWhodMaxEntries - 1;
inline constexpr size_t kWhodMaxSize = kWhodHeaderSize + kWhodMaxEntries * kWhodEntrySize;

struct WhodEntry {
  std::string tty;   // up to 8 bytes, printable ASCII ('?' for any other byte)
  std::string user;  // 1 to 8 bytes, the same
  int64_t login_s = 0;
  int64_t idle_s = 0;  // seconds since the terminal was used; never negative
};

struct WhodStatus {
  int64_t send_s = 0;  // the sender's clock when it sent
  int64_t recv_s = 0;  // the receiver's clock when it took it (spool files only)
  std::string hostname;  // 1 to 31 bytes: letters, digits, '-', '.', '_'
  std::array<int32_t, 3> load100{};  // 1, 5 and 15 minutes, times 100
  int64_t boot_s = 0;
  std::vector<WhodEntry> entries;
};

// The time nearest `near_s` whose low 32 bits are `low`: 32-bit times read without a 2038 or
// 2106 cliff, as long as they are within 68 years of the reader's clock.
int64_t UnwrapTime32(uint32_t low, int64_t near_s);

// A datagram as a rwhod sends it, checked: kCorrupt (naming what is wrong) for a size that is
// not the header plus whole entries (at most 42), a version or type other than 1, a host name
// that is empty, unterminated, or has a byte other than a letter, digit, '-', '.' or '_', an
// entry without a user. A byte of a user or tty outside printable ASCII is read as '?';
// negative load and idle values as 0. recv_s is set to `now_s`, the times unwrapped near it.
Result<WhodStatus> DecodeWhod(std::span<const uint8_t> datagram, int64_t now_s);

// The datagram rwhod would send for `status` (big-endian; recv_s is sent as 0): for tests and
// the fuzzer's seeds. Entries past 42 are left out; strings are cut to their field.
std::vector<uint8_t> EncodeWhod(const WhodStatus& status);

// The file rwhod writes for a host (whod.HOSTNAME): the packet's layout in this machine's byte
// order, with the receive time filled in, as rwho and ruptime read it. Times are written as
// their low 32 bits, as rwhod writes them (what rwho and ruptime make of them after 2038 is
// theirs: netkit's ruptime does not unwrap them).
std::vector<uint8_t> EncodeWhodSpool(const WhodStatus& status);

}  // namespace utmpcd
