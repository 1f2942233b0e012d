#include "net/udp_rate_limiter.h"

#include <algorithm>
#include <random>

namespace utmpcd {
namespace {

// splitmix64's finalizer: every input bit moves every output bit. Not a MAC; with a secret seed
// it is enough that a sender cannot predict which set a prefix falls in.
uint64_t Mix(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

uint64_t RandomSeed() {
  std::random_device device;
  uint64_t seed = (uint64_t{device()} << 32) | device();
  return seed == 0 ? 1 : seed;
}

}  // namespace

UdpRateLimiter::UdpRateLimiter(double rate_per_s, double burst, size_t capacity, uint64_t seed)
    : rate_per_us_(rate_per_s / 1e6),
      burst_(std::max(burst, 1.0)),
      seed_(seed == 0 ? RandomSeed() : seed),
      buckets_((std::max<size_t>(capacity, 1) + kWays - 1) / kWays * kWays) {}

bool UdpRateLimiter::Allow(const SourcePrefix& prefix, int64_t now_us) {
  if (rate_per_us_ <= 0) return true;
  Bucket& bucket = Find(prefix, now_us);
  if (now_us > bucket.last_us) {
    double refill = static_cast<double>(now_us - bucket.last_us) * rate_per_us_;
    bucket.tokens = std::min(burst_, bucket.tokens + refill);
    bucket.last_us = now_us;
  }
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

UdpRateLimiter::Bucket& UdpRateLimiter::Find(const SourcePrefix& prefix, int64_t now_us) {
  uint64_t hash = Mix(Mix(prefix.bits ^ seed_) + (prefix.v6 ? 1 : 0));
  size_t sets = buckets_.size() / kWays;
  Bucket* set = &buckets_[(hash % sets) * kWays];
  Bucket* victim = nullptr;
  for (size_t i = 0; i < kWays; ++i) {
    Bucket& b = set[i];
    if (b.used && b.prefix == prefix) return b;
    if (!b.used) {
      if (victim == nullptr || victim->used) victim = &b;
    } else if (victim == nullptr || (victim->used && b.last_us < victim->last_us)) {
      victim = &b;
    }
  }
  // A prefix not seen (or forgotten) starts with a full bucket, as it would have had after
  // burst / rate seconds of silence.
  *victim = Bucket{true, prefix, burst_, now_us};
  return *victim;
}

size_t UdpRateLimiter::tracked() const {
  return static_cast<size_t>(
      std::count_if(buckets_.begin(), buckets_.end(), [](const Bucket& b) { return b.used; }));
}

}  // namespace utmpcd
