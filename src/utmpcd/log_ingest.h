// LogIngest: moves what a LogFollower reads from wtmp or btmp into the store, exactly once.
// WtmpdbIngest: the same for wtmpdb's database.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/event.h"
#include "core/result.h"
#include "formats/utmp.h"
#include "sources/current_boot.h"
#include "sources/journal_follower.h"
#include "sources/log_follower.h"
#include "sources/wtmpdb_follower.h"
#include "store/sqlite_store.h"

namespace utmpcd {

// One followed source of the history, as the daemon drives it: Start once, then Pump whenever
// its file changed.
class SourceIngest {
 public:
  struct Progress {
    uint64_t events = 0;   // events stored by this call
    uint64_t garbled = 0;  // records skipped as garbled by this call
    bool more = false;     // a backlog remains: call again before waiting for the file
    bool missing = false;  // the path does not exist (yet): nothing to read
    // Why the file could not be read ("open /var/log/btmp: Permission denied"; "" when it
    // was): nothing of it was stored, and the next call tries again.
    std::string unreadable = {};
  };

  virtual ~SourceIngest() = default;
  // Restores where the last run stopped (the cursor stored under cursor_key()).
  virtual Result<void> Start() = 0;
  // Reads what changed since the last call and stores it: the events and the cursor after
  // them in one transaction, so a crash at any instant neither loses nor repeats a record.
  // Warnings (rotation, truncation) are passed to `warn`. Fails only on a store error, and
  // then nothing is consumed: the same records are read again by the next call. A file that
  // cannot be read (permission, not a regular file) is Progress::unreadable.
  virtual Result<Progress> Pump(const std::function<void(const std::string&)>& warn) = 0;
  virtual const std::string& path() const = 0;
  // Whether the file is an SQLite database (its writes may go to a WAL file beside it).
  virtual bool is_database() const { return false; }
  // Whether the source says itself when it changed (own_fd) instead of through an inotify
  // watch of path(): then wait_fd() (once >= 0) becomes readable.
  virtual bool own_fd() const { return false; }
  virtual int wait_fd() const { return -1; }
  // Counts the opens of wait_fd()'s descriptor: another value is another descriptor, even
  // when its number is the same.
  virtual uint64_t wait_generation() const { return 0; }
};

class LogIngest : public SourceIngest {
 public:
  // Follows `path` as `source` (kWtmp or kBtmp). `store` and `boot` must outlive this object;
  // events from `boot` on carry its id.
  LogIngest(std::string path, EventSource source, UtmpLayout layout, SqliteStore* store,
            const CurrentBoot* boot);

  Result<void> Start() override;
  Result<Progress> Pump(const std::function<void(const std::string&)>& warn) override;

  const std::string& path() const override { return path_; }
  // "wtmp:/var/log/wtmp": the store key of this source's cursor.
  const std::string& cursor_key() const { return key_; }

 private:
  std::string path_;
  EventSource source_;
  UtmpLayout layout_;
  SqliteStore* store_;
  const CurrentBoot* boot_;
  std::string key_;
  std::unique_ptr<LogFollower> follower_;
  // The cursor the store holds for this source; its `extra` names the file rotated away from
  // while that is followed for late appends.
  std::optional<SourceCursor> stored_;
};

// Follows wtmpdb's database. The cursor (key "wtmpdb:PATH") holds the file's identity, the last
// row ID read (as its offset) and, in its extra, that row's Login and where the rows still
// waiting for their end begin; the rows themselves are the logins and boots of source wtmpdb
// the store holds no end for (SqliteStore::OpenSessionsOf).
class WtmpdbIngest : public SourceIngest {
 public:
  WtmpdbIngest(std::string path, SqliteStore* store, const CurrentBoot* boot);

  Result<void> Start() override;
  Result<Progress> Pump(const std::function<void(const std::string&)>& warn) override;
  const std::string& path() const override { return path_; }
  bool is_database() const override { return true; }
  const std::string& cursor_key() const { return key_; }

 private:
  std::string path_;
  SqliteStore* store_;
  const CurrentBoot* boot_;
  std::string key_;
  std::unique_ptr<WtmpdbFollower> follower_;
  std::optional<SourceCursor> stored_;
};

// Follows the systemd journal's failed logins (sources/journal_follower.h). The cursor (key
// "journal:system", or "journal:DIRECTORY") holds the journal's cursor string as its extra.
// A journal that cannot be opened is Progress::unreadable, tried again later.
class JournalIngest : public SourceIngest {
 public:
  // `directory` "" for the system journal.
  JournalIngest(std::string directory, SqliteStore* store, const CurrentBoot* boot);

  Result<void> Start() override;
  Result<Progress> Pump(const std::function<void(const std::string&)>& warn) override;
  const std::string& path() const override { return name_; }
  bool own_fd() const override { return true; }
  int wait_fd() const override { return follower_ ? follower_->fd() : -1; }
  uint64_t wait_generation() const override { return opens_; }

 private:
  std::string directory_;
  uint64_t opens_ = 0;
  std::string name_;  // "the journal", or its directory
  SqliteStore* store_;
  const CurrentBoot* boot_;
  std::string key_;
  std::unique_ptr<JournalFollower> follower_;
  std::optional<SourceCursor> stored_;
};

// The layout of this machine's own struct utmp (384 bytes on x86-64, 400 on aarch64).
UtmpLayout NativeLayout();

}  // namespace utmpcd
