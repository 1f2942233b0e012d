// FileCursor: where ingest of an append-only login file (wtmp, btmp) stopped.
#pragma once

#include <cstdint>

namespace utmpcd {

// A file is named by its identity, not its path, so a rotated file is still recognised: after
// `mv wtmp wtmp.1` the cursor keeps pointing at the records of wtmp.1. `offset` is the byte
// offset of the next record to read, always a multiple of the record size. The store keeps one
// per followed file and commits it in the same transaction as the records read before it.
struct FileCursor {
  uint64_t device = 0;  // st_dev
  uint64_t inode = 0;   // st_ino
  uint64_t offset = 0;  // bytes consumed from the start of that file

  bool operator==(const FileCursor&) const = default;
};

}  // namespace utmpcd
