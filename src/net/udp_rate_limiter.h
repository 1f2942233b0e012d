// UdpRateLimiter: a token bucket per source prefix (/24, /64: see PrefixOf), in bounded memory.
// Time is passed in, so it is a pure function of its calls and tests need no clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "net/udp_address.h"

namespace utmpcd {

class UdpRateLimiter {
 public:
  // Each prefix may send `burst` datagrams at once, then `rate_per_s` a second. `rate_per_s` <= 0
  // turns limiting off (every datagram allowed; for benchmarks on loopback). `burst` below 1
  // counts as 1. At most `capacity` prefixes are remembered (rounded up to a multiple of 4); a
  // new prefix takes the place of the least recently seen of the 4 its hash may use, and starts
  // with a full bucket. `seed` keys that hash; 0 picks one at random, so a sender cannot choose
  // prefixes that all land on a victim's 4 places and flush its bucket.
  UdpRateLimiter(double rate_per_s, double burst, size_t capacity = 4096, uint64_t seed = 0);

  // Whether one more datagram from `prefix` may be answered at `now_us` (microseconds of any
  // monotonic clock; a time earlier than the previous one refills nothing). Takes the token
  // when it says yes.
  bool Allow(const SourcePrefix& prefix, int64_t now_us);

  // How many prefixes are remembered now (at most the capacity).
  size_t tracked() const;

 private:
  struct Bucket {
    bool used = false;
    SourcePrefix prefix;
    double tokens = 0;
    int64_t last_us = 0;
  };
  static constexpr size_t kWays = 4;

  Bucket& Find(const SourcePrefix& prefix, int64_t now_us);

  double rate_per_us_;
  double burst_;
  uint64_t seed_;
  std::vector<Bucket> buckets_;  // kWays consecutive buckets per set
};

}  // namespace utmpcd
