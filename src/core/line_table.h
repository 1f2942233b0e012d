// LineTable: a map from a tty line (at most 32 bytes) to a record's time, built for the session builder's
// inner loop: no allocation per insert, and Clear() is O(1), because a boot clears it and a
// wtmp has thousands of boots.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "core/login_record.h"

namespace utmpcd {

class LineTable {
 public:
  LineTable() : slots_(kInitialSlots) {}

  // Sets the time of `line` (at most kLineSize bytes), adding it when absent; returns whether
  // it was present, and then its previous time in *previous.
  [[gnu::always_inline]] bool Exchange(std::string_view line, RecordTime time, RecordTime* previous) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    const Key key(line);
    for (size_t i = key.Hash() & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.generation != generation_) {
        // Word by word: a whole-key copy is made with 16-byte moves, which would load the key
        // from the stack where it was stored 8 bytes at a time (a store-forwarding stall).
        s.key.Set(key);
        s.time = time;
        s.generation = generation_;
        ++size_;
        return false;
      }
      if (s.key == key) {
        *previous = s.time;
        s.time = time;
        return true;
      }
    }
  }

  void Clear() {
    ++generation_;
    size_ = 0;
  }

 private:
  static constexpr size_t kInitialSlots = 64;  // a power of two

  // A line zero-padded to 32 bytes: compared and hashed as four words.
  struct Key {
    uint64_t words[kLineSize / 8] = {};
    Key() = default;
    // Word by word with whole loads, and no loop: bytes copied into a zeroed key and read back
    // as words would stall on store forwarding, and this runs for every login and logout. Most
    // lines ("pts/12", "tty1") fit the first word.
    [[gnu::always_inline]] explicit Key(std::string_view line) {
      const char* p = line.data();
      const size_t n = line.size() < kLineSize ? line.size() : kLineSize;
      if (n <= 8) {
        words[0] = LoadUpTo8(p, n);
        return;
      }
      words[0] = Load<uint64_t>(p);
      if (n <= 16) {
        words[1] = LoadUpTo8(p + 8, n - 8);
        return;
      }
      words[1] = Load<uint64_t>(p + 8);
      if (n <= 24) {
        words[2] = LoadUpTo8(p + 16, n - 16);
        return;
      }
      words[2] = Load<uint64_t>(p + 16);
      words[3] = LoadUpTo8(p + 24, n - 24);
    }
    [[gnu::always_inline]] void Set(const Key& o) {
      words[0] = o.words[0];
      words[1] = o.words[1];
      words[2] = o.words[2];
      words[3] = o.words[3];
    }
    bool operator==(const Key& o) const {
      return ((words[0] ^ o.words[0]) | (words[1] ^ o.words[1]) | (words[2] ^ o.words[2]) |
              (words[3] ^ o.words[3])) == 0;
    }
    // Lines share their first bytes ("pts/"): every word is multiplied and the high bits are
    // folded down, so the low bits that pick a slot depend on all of the line.
    size_t Hash() const {
      uint64_t h = words[0] * 0x9E3779B97F4A7C15ULL ^ words[1] * 0xC2B2AE3D27D4EB4FULL ^
                   words[2] * 0x165667B19E3779F9ULL ^ words[3] * 0xD6E8FEB86659FD93ULL;
      h ^= h >> 32;
      h *= 0xBF58476D1CE4E5B9ULL;
      return static_cast<size_t>(h ^ (h >> 29));
    }
  };
  template <typename T>
  static T Load(const char* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  // Bytes [p, p + n), n <= 8, as the low bytes of a little-endian word: two loads that overlap
  // agree on the bytes they share.
  static uint64_t LoadUpTo8(const char* p, size_t n) {
    if constexpr (std::endian::native == std::endian::little) {
      if (n >= 4) {
        return Load<uint32_t>(p) | uint64_t{Load<uint32_t>(p + n - 4)} << (8 * (n - 4));
      }
      if (n >= 2) return Load<uint16_t>(p) | uint64_t{Load<uint16_t>(p + n - 2)} << (8 * (n - 2));
      return n == 1 ? static_cast<unsigned char>(p[0]) : 0;
    } else {
      uint64_t w = 0;
      std::memcpy(&w, p, n);
      return w;
    }
  }

  struct Slot {
    Key key;
    RecordTime time;
    uint64_t generation = 0;  // the slot is in use when it equals the table's
  };

  void Grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    size_ = 0;
    uint64_t live = generation_;
    ++generation_;  // every new slot (generation 0) must read as empty, also after wrap-around
    for (const Slot& s : old) {
      if (s.generation == live) SetKey(s.key, s.time);
    }
  }
  void SetKey(const Key& key, RecordTime time) {
    for (size_t i = key.Hash() & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].generation != generation_) {
        slots_[i] = Slot{key, time, generation_};
        ++size_;
        return;
      }
    }
  }

  std::vector<Slot> slots_;
  size_t mask_ = kInitialSlots - 1;  // slots_.size() - 1
  size_t size_ = 0;
  uint64_t generation_ = 1;
};

}  // namespace utmpcd
