// LogFollower: incremental reading of an append-only login file (wtmp, btmp) from a stored
// cursor, through rotation and truncation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/login_record.h"
#include "core/result.h"
#include "formats/utmp.h"
#include "sources/file_cursor.h"

namespace utmpcd {

// A 64-bit FNV-1a hash of one record's bytes: which record stands before a cursor.
uint64_t RecordFingerprint(std::string_view record);

// One record read by a LogFollower.
struct FollowedRecord {
  LoginRecord record;  // text views point into the Batch that holds this record
  FileCursor at;       // the file it came from and the byte offset of its first byte
};

// What one LogFollower::Poll() read. Move-only: the records' text lives in `storage`, whose
// buffers do not move when the Batch does.
struct Batch {
  std::vector<FollowedRecord> records;  // in file order; a rotated file's records come first
  // Where the next Poll starts. Store it in the same transaction as `records`: a follower
  // constructed with it later resumes right after them, nothing repeated and nothing lost.
  FileCursor cursor;
  // The file rotated away from, while it is still followed for late appends (a writer that
  // opened it before the rename): store it with `cursor`, and give it to ResumePrevious.
  std::optional<FileCursor> previous;
  // RecordFingerprint of the record just before `cursor` (0 when the cursor is at the start):
  // store it with the cursor and give it to ExpectFingerprint, so that a restart notices a file
  // rewritten under the cursor while nothing followed it.
  uint64_t fingerprint = 0;
  uint64_t garbled = 0;  // records skipped because they do not decode (their bytes consumed)
  // The record limit was reached with more to read: Poll again without waiting for inotify
  // (which will not report bytes that are already there).
  bool more = false;
  // The path does not exist (nor its directory): nothing was read from it. Not an error for a
  // follower, which reads the file once it appears, but an import asked for it.
  bool missing = false;
  // For the log, one line each: truncation, rotation, garbled records, a lost cursor.
  std::vector<std::string> warnings;
  // The bytes `records` point into.
  struct Buffer {
    std::unique_ptr<char[]> bytes;
    size_t size = 0;
  };
  std::vector<Buffer> storage;
};

// Follows one path. Poll() never blocks (regular files only; a FIFO at the path is an error)
// and reads only whole records: a record still being written is left for a later Poll.
//
// - Rotation (the path names a new inode: logrotate's rename + create, or delete + create):
//   the old file is first read to its end through the descriptor still open, then the new one
//   from offset 0. The old descriptor stays open and records appended to it later (a writer
//   that opened the file just before the rename) are still returned, until the next rotation or
//   until the old file is deleted. Batch::previous says where it stands, so that a restart can
//   go on with it (ResumePrevious).
// - Truncation (same inode, now shorter than the cursor): the file is read again from 0, with a
//   warning. A file truncated and refilled past the cursor between two Polls cannot be told
//   from one that grew (the copytruncate race every tail has); across a restart it can, by the
//   fingerprint of the record before the cursor (ExpectFingerprint).
// - Start-up: a cursor whose inode is no longer at the path (rotated while the daemon was down)
//   is looked for among the path's siblings (`wtmp.1`, `wtmp-20240101`, ...); found, that file
//   is finished from the cursor's offset first, then the path read from 0. Not found, the path
//   is read from 0 with a warning. Only one rotation while stopped is bridged this way. An
//   inode number freed and reused by a new file is told from the old file by the fingerprint
//   (ExpectFingerprint); without one it is taken for the old file.
// - A missing file (or directory) is not an error: Poll returns nothing (Batch::missing) until
//   it appears.
//
// Not thread-safe. Holds at most two descriptors (the current file and the one rotated away).
class LogFollower {
 public:
  // Bounds one Poll's work: 64k records are 24 MiB of 384-byte records, a fraction of a second
  // to decode, so a huge backlog is ingested in steps that leave the event loop responsive.
  static constexpr size_t kDefaultMaxBatchRecords = 65536;

  // `start` is the cursor stored with the last committed batch; nullopt (or an all-zero
  // cursor) reads the file from the start. Nothing is opened before the first Poll.
  LogFollower(std::string path, UtmpLayout layout, std::optional<FileCursor> start,
              size_t max_batch_records = kDefaultMaxBatchRecords);
  LogFollower(const LogFollower&) = delete;
  LogFollower& operator=(const LogFollower&) = delete;
  ~LogFollower();

  // Before the first Poll: the fingerprint stored with the start cursor (Batch::fingerprint).
  // When the record before the cursor is no longer that record (the file was truncated and
  // written past the cursor while no follower ran, or its inode number was reused), the file
  // is read again from the start, with a warning. 0 checks nothing (a cursor stored before
  // fingerprints were).
  void ExpectFingerprint(uint64_t fingerprint);

  // Before the first Poll: the rotated-away file of the last run (Batch::previous as stored) is
  // looked for among the path's siblings by its inode and followed again from its offset, late
  // appends first. Not found (deleted since), it is forgotten without a warning.
  void ResumePrevious(const FileCursor& previous);

  // Reads what was appended since the last Poll (at most max_batch_records records, garbled
  // ones included). Fails (kIo; kInvalidArgument when the path is not a regular file) only when
  // nothing was read: an error after some records returns them, with the error among the
  // warnings. The follower stays usable either way and a later Poll retries.
  Result<Batch> Poll();

  // Takes back a batch its caller is done with: while there is more to read (Batch::more), its
  // buffer and record array are used again by the next Poll, so an import does not map, fault
  // in and free tens of megabytes per batch; once caught up, they are freed.
  void Recycle(Batch&& batch);

  const std::string& path() const { return path_; }
  // The cursor after the last Poll (the start cursor before the first).
  FileCursor cursor() const;
  uint64_t garbled_total() const { return garbled_total_; }

 private:
  // An open file and how far it has been read.
  struct OpenFile {
    int fd = -1;
    FileCursor pos;
    uint64_t fingerprint = 0;  // RecordFingerprint of the record before pos.offset; 0: none
  };

  Result<void> PollInto(Batch& batch);
  Result<void> Start(Batch& batch);
  Result<bool> OpenPath();
  Result<std::optional<OpenFile>> FindSibling(const FileCursor& want);
  // Whether the record before file.pos is the one `fingerprint` was taken of (true when there
  // is none to compare, or the file is now shorter).
  Result<bool> SameRecordBefore(const OpenFile& file, uint64_t fingerprint);
  // Reads up to `budget` records of `file`; true when it read all the whole records there are.
  Result<bool> ReadFile(OpenFile& file, size_t budget, Batch& batch);
  void Decode(const char* bytes, uint64_t records, const FileCursor& from, Batch& batch);
  Result<void> ReadPrevious(Batch& batch);
  Result<bool> FollowRotation(Batch& batch);
  void Close(std::optional<OpenFile>& file);
  size_t Budget(const Batch& batch) const;

  std::string path_;
  UtmpLayout layout_;
  uint64_t record_size_;
  size_t max_batch_records_;
  std::optional<FileCursor> start_;  // until the first Poll that resolves it
  std::optional<FileCursor> previous_start_;  // likewise, the rotated-away file's
  uint64_t expected_fingerprint_ = 0;         // likewise, the start cursor's fingerprint
  bool started_ = false;
  std::optional<OpenFile> current_;   // the file the cursor is in
  std::optional<OpenFile> previous_;  // the file rotated away from, for late appends
  uint64_t garbled_total_ = 0;
  Batch::Buffer spare_buffer_;                 // from Recycle, for the next read
  std::vector<FollowedRecord> spare_records_;  // likewise, empty but with its capacity
};

}  // namespace utmpcd
