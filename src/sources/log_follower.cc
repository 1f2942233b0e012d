#include "sources/log_follower.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>

namespace utmpcd {
namespace {

bool SameFile(const FileCursor& a, const FileCursor& b) {
  return a.device == b.device && a.inode == b.inode;
}

bool IsEmpty(const FileCursor& cursor) { return cursor.device == 0 && cursor.inode == 0; }

// Opens a regular file for reading; nullopt when it does not exist. O_NONBLOCK so that a FIFO
// planted at the path cannot block the event loop in open(2); it is then refused by the check.
Result<std::optional<int>> OpenRegular(const std::string& path, FileCursor* id) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<int>();
    return tl::unexpected(ErrnoError("open " + path, errno));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return tl::unexpected(ErrnoError("fstat " + path, err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return MakeError(ErrorCode::kInvalidArgument, path + ": not a regular file");
  }
  *id = FileCursor{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), 0};
  return std::optional<int>(fd);
}

// Like pread(2), but retries short reads and EINTR; returns the bytes read, fewer than `size`
// only at the end of the file.
Result<size_t> PreadFully(int fd, char* buf, size_t size, uint64_t offset,
                          const std::string& path) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, buf + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return tl::unexpected(ErrnoError("read " + path, errno));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

}  // namespace

uint64_t RecordFingerprint(std::string_view record) {
  uint64_t hash = 0xcbf29ce484222325;  // FNV-1a's offset basis and prime
  for (char c : record) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3;
  // 0 means "none"; a record hashing to it is told apart by nothing else anyway.
  return hash == 0 ? 1 : hash;
}

LogFollower::LogFollower(std::string path, UtmpLayout layout, std::optional<FileCursor> start,
                         size_t max_batch_records)
    : path_(std::move(path)),
      layout_(layout),
      record_size_(RecordSize(layout)),
      max_batch_records_(std::max<size_t>(1, max_batch_records)),
      start_(start && !IsEmpty(*start) ? start : std::nullopt) {}

LogFollower::~LogFollower() {
  Close(current_);
  Close(previous_);
}

FileCursor LogFollower::cursor() const {
  if (current_) return current_->pos;
  if (start_) return *start_;
  return {};
}

void LogFollower::Close(std::optional<OpenFile>& file) {
  if (file && file->fd >= 0) ::close(file->fd);
  file.reset();
}

size_t LogFollower::Budget(const Batch& batch) const {
  size_t used = batch.records.size() + static_cast<size_t>(batch.garbled);
  return used >= max_batch_records_ ? 0 : max_batch_records_ - used;
}

Result<Batch> LogFollower::Poll() {
  Batch batch;
  batch.records = std::move(spare_records_);
  spare_records_ = {};
  Result<void> done = PollInto(batch);
  if (!done) {
    // Records already read have advanced the follower: they must reach the caller, or they
    // would be lost. The error is reported with them and the next Poll tries again.
    if (batch.records.empty() && batch.garbled == 0) return tl::unexpected(done.error());
    batch.warnings.push_back(done.error().message);
  }
  batch.cursor = cursor();
  batch.fingerprint = current_ ? current_->fingerprint : expected_fingerprint_;
  if (previous_) {
    batch.previous = previous_->pos;
  } else if (previous_start_) {
    batch.previous = previous_start_;  // not resolved yet (an error before it was)
  }
  return batch;
}

Result<void> LogFollower::PollInto(Batch& batch) {
  if (!started_) {
    if (auto started = Start(batch); !started) return started;
  }
  if (auto late = ReadPrevious(batch); !late) return late;
  // Two switches are a rotation plus one more during this very Poll; beyond that the next
  // Poll carries on (`more`), so a path replaced in a tight loop cannot hold the event loop.
  for (int switches = 0;; ++switches) {
    if (switches > 2) {
      batch.more = true;
      return {};
    }
    if (!current_) {
      auto opened = OpenPath();
      if (!opened) return tl::unexpected(opened.error());
      if (!*opened) {  // not there (yet): inotify reports its creation
        batch.missing = true;
        return {};
      }
    }
    size_t budget = Budget(batch);
    if (budget == 0) {
      batch.more = true;
      return {};
    }
    auto at_end = ReadFile(*current_, budget, batch);
    if (!at_end) return tl::unexpected(at_end.error());
    if (!*at_end) {
      batch.more = true;
      return {};
    }
    auto switched = FollowRotation(batch);
    if (!switched) return tl::unexpected(switched.error());
    if (!*switched) return {};
  }
}

void LogFollower::ExpectFingerprint(uint64_t fingerprint) {
  if (!started_) expected_fingerprint_ = fingerprint;
}

Result<bool> LogFollower::SameRecordBefore(const OpenFile& file, uint64_t fingerprint) {
  if (fingerprint == 0 || file.pos.offset < record_size_) return true;
  std::string record(record_size_, '\0');
  auto got = PreadFully(file.fd, record.data(), record.size(), file.pos.offset - record_size_,
                        path_);
  if (!got) return tl::unexpected(got.error());
  // Shorter: truncated, which ReadFile notices by itself.
  return *got < record.size() || RecordFingerprint(record) == fingerprint;
}

void LogFollower::ResumePrevious(const FileCursor& previous) {
  if (!started_ && !IsEmpty(previous)) previous_start_ = previous;
}

Result<void> LogFollower::Start(Batch& batch) {
  if (!start_) {
    previous_start_.reset();  // a rotated file and no current one: nothing to go on with
    started_ = true;
    return {};
  }
  FileCursor want = *start_;
  if (want.offset % record_size_ != 0) {
    batch.warnings.push_back(
        fmt::format("{}: stored offset {} is not a multiple of {}; reading "
                    "from the record it falls in",
                    path_, want.offset, record_size_));
    want.offset -= want.offset % record_size_;
  }
  FileCursor id;
  auto fd = OpenRegular(path_, &id);
  if (!fd) return tl::unexpected(fd.error());
  if (*fd && SameFile(id, want)) {
    current_ = OpenFile{**fd, want, expected_fingerprint_};
    auto same = SameRecordBefore(*current_, expected_fingerprint_);
    if (!same) {
      Close(current_);
      return tl::unexpected(same.error());
    }
    if (!*same) {
      batch.warnings.push_back(
          fmt::format("{}: the record before the stored position (byte {}) is not the one read "
                      "there: the file was rewritten while it was not followed; reading it "
                      "again from the start",
                      path_, want.offset));
      current_->pos.offset = 0;
      current_->fingerprint = 0;
    }
  } else {
    if (*fd) ::close(**fd);
    auto sibling = FindSibling(want);
    if (!sibling) return tl::unexpected(sibling.error());
    if (*sibling) {
      // The inode alone may be a new file's that reused the number: the record before the
      // cursor tells.
      auto same = SameRecordBefore(**sibling, expected_fingerprint_);
      if (!same || !*same) {
        ::close((*sibling)->fd);
        sibling->reset();
        if (!same) return tl::unexpected(same.error());
      }
    }
    if (*sibling) {
      current_ = **sibling;
      current_->fingerprint = expected_fingerprint_;
      batch.warnings.push_back(
          fmt::format("{}: rotated while stopped; finishing the old file "
                      "from byte {} first",
                      path_, want.offset));
    } else {
      batch.warnings.push_back(
          fmt::format("{}: the file of the stored cursor (device {}, inode "
                      "{}) is gone; reading {} from the start",
                      path_, want.device, want.inode, path_));
    }
  }
  start_.reset();
  if (previous_start_ && current_ && !SameFile(*previous_start_, current_->pos)) {
    FileCursor want_previous = *previous_start_;
    want_previous.offset -= want_previous.offset % record_size_;
    // When the cursor's own file was rotated while stopped, this one is read first and let go
    // at the next switch: one old file is followed at a time.
    auto sibling = FindSibling(want_previous);
    if (!sibling) {
      batch.warnings.push_back(fmt::format("{}: the file rotated away from is not followed: {}",
                                           path_, sibling.error().message));
    } else if (*sibling) {
      previous_ = **sibling;
    }
  }
  previous_start_.reset();
  started_ = true;
  return {};
}

Result<bool> LogFollower::OpenPath() {
  FileCursor id;
  auto fd = OpenRegular(path_, &id);
  if (!fd) return tl::unexpected(fd.error());
  if (!*fd) return false;
  current_ = OpenFile{**fd, id};
  return true;
}

Result<std::optional<LogFollower::OpenFile>> LogFollower::FindSibling(const FileCursor& want) {
  namespace fs = std::filesystem;
  fs::path path(path_);
  fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::string base = path.filename().string();
  std::error_code ec;
  // Any name that extends the base name: logrotate's wtmp.1, its dateext wtmp-20240101, and
  // savelog's wtmp.0 alike. The inode decides, so other files that share the prefix are harmless.
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.size() <= base.size() || name.compare(0, base.size(), base) != 0) continue;
    struct stat st;
    if (::stat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (st.st_dev != want.device || st.st_ino != want.inode) continue;
    FileCursor id;
    auto fd = OpenRegular(it->path().string(), &id);
    if (!fd) return tl::unexpected(fd.error());
    if (!*fd) continue;  // removed since the listing
    if (!SameFile(id, want)) {
      ::close(**fd);
      continue;
    }
    return std::optional<OpenFile>(OpenFile{**fd, want});
  }
  return std::optional<OpenFile>();
}

Result<bool> LogFollower::ReadFile(OpenFile& file, size_t budget, Batch& batch) {
  struct stat st;
  if (::fstat(file.fd, &st) != 0) return tl::unexpected(ErrnoError("fstat " + path_, errno));
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < file.pos.offset) {
    batch.warnings.push_back(
        fmt::format("{}: truncated to {} bytes (was read to byte {}); "
                    "reading it again from the start",
                    path_, size, file.pos.offset));
    file.pos.offset = 0;
    file.fingerprint = 0;
  }
  uint64_t whole = (size - file.pos.offset) / record_size_;
  uint64_t want = std::min<uint64_t>(whole, budget);
  if (want == 0) return true;
  size_t bytes = static_cast<size_t>(want * record_size_);
  Batch::Buffer buffer;
  if (spare_buffer_.size >= bytes) {
    buffer = std::exchange(spare_buffer_, {});
  } else {
    buffer = {std::make_unique_for_overwrite<char[]>(bytes), bytes};
  }
  auto got = PreadFully(file.fd, buffer.bytes.get(), bytes, file.pos.offset, path_);
  if (!got) return tl::unexpected(got.error());
  uint64_t records = *got / record_size_;  // fewer when the file shrank under us
  Decode(buffer.bytes.get(), records, file.pos, batch);
  if (records > 0) {
    file.fingerprint = RecordFingerprint(
        {buffer.bytes.get() + (records - 1) * record_size_, static_cast<size_t>(record_size_)});
  }
  batch.storage.push_back(std::move(buffer));
  file.pos.offset += records * record_size_;
  return records < want || want == whole;
}

void LogFollower::Decode(const char* bytes, uint64_t records, const FileCursor& from,
                         Batch& batch) {
  uint64_t garbled = 0;
  std::string first_error;
  batch.records.reserve(batch.records.size() + records);
  for (uint64_t i = 0; i < records; ++i) {
    FileCursor at{from.device, from.inode, from.offset + i * record_size_};
    auto record = DecodeUtmp({bytes + i * record_size_, record_size_}, layout_);
    if (record) {
      batch.records.push_back(FollowedRecord{*record, at});
    } else if (garbled++ == 0) {
      first_error = fmt::format("byte {}: {}", at.offset, record.error().message);
    }
  }
  if (garbled == 0) return;
  batch.garbled += garbled;
  garbled_total_ += garbled;
  batch.warnings.push_back(fmt::format("{}: skipped {} garbled record{} (first at {})", path_,
                                       garbled, garbled == 1 ? "" : "s", first_error));
}

void LogFollower::Recycle(Batch&& batch) {
  if (!batch.more) {
    // Caught up: the next Poll reads what is appended from now on, a few records. An idle
    // daemon does not hold a catch-up's megabytes.
    spare_buffer_ = {};
    spare_records_ = {};
    return;
  }
  for (Batch::Buffer& buffer : batch.storage) {
    if (buffer.size > spare_buffer_.size) spare_buffer_ = std::move(buffer);
  }
  batch.records.clear();
  if (batch.records.capacity() > spare_records_.capacity()) {
    spare_records_ = std::move(batch.records);
  }
}

Result<void> LogFollower::ReadPrevious(Batch& batch) {
  if (!previous_) return {};
  auto at_end = ReadFile(*previous_, Budget(batch), batch);
  if (!at_end) {
    Close(previous_);
    return tl::unexpected(at_end.error());
  }
  if (!*at_end) {
    batch.more = true;
    return {};
  }
  // Once it is deleted no new writer can open it: nothing more will come.
  struct stat st;
  if (::fstat(previous_->fd, &st) != 0 || st.st_nlink == 0) Close(previous_);
  return {};
}

Result<bool> LogFollower::FollowRotation(Batch& batch) {
  // stat(2) first: the common case, nothing rotated, costs no open(2).
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return false;  // renamed, new one not yet created
    return tl::unexpected(ErrnoError("stat " + path_, errno));
  }
  FileCursor named{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), 0};
  if (SameFile(named, current_->pos)) return false;
  std::optional<OpenFile> old = std::move(current_);
  current_.reset();
  auto opened = OpenPath();
  if (!opened || !*opened || SameFile(current_->pos, old->pos)) {
    Close(current_);
    current_ = std::move(old);
    if (!opened) return tl::unexpected(opened.error());
    return false;
  }
  batch.warnings.push_back(
      fmt::format("{}: rotated; finished the old file at byte {}, reading "
                  "the new one from the start",
                  path_, old->pos.offset));
  Close(previous_);
  previous_ = std::move(old);
  return true;
}

}  // namespace utmpcd
