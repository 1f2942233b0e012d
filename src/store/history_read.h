// HistoryReader: `utmpc last` and `lastb` on the host daemon's history database (DESIGN.md,
// "Store") instead of /var/log/wtmp and btmp: the rows util-linux last prints for the wtmp (btmp)
// the daemon ingested, in the same order.
//
// `last` reads the wtmp events (on a host without wtmp: the PAM module's logins and logouts,
// which would otherwise list each session twice), `lastb` the btmp events. Each event is turned back into the record last would have read (RecordFromEvent) and
// fed to LastBuilder newest first, in seq order, which is the order the records stood in the file.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/last_builder.h"
#include "core/result.h"
#include "store/sqlite_store.h"

namespace utmpcd {

// Where utmpcd keeps its history unless configured otherwise.
inline constexpr char kHistoryDatabasePath[] = "/var/lib/utmpcd/history.db";

// The database `last` reads when given no -f: `option` (--database) when not empty, else
// $UTMPC_DATABASE when set and not empty, else kHistoryDatabasePath.
std::string HistoryDatabasePath(const std::string& option);

class HistoryReader {
 public:
  // Called per row, newest first; returns false to end the listing.
  using Emit = std::function<bool(const LastRow&)>;

  // Opens `path` read-only (nothing is created or written). Fails with the store's error (its
  // message starts with the path): kNotFound for a missing file, kIo for one that cannot be
  // read, kCorrupt or kUnsupported for one that is not a current utmpcd history.
  static Result<std::unique_ptr<HistoryReader>> Open(const std::string& path, bool lastb);

  // How many whole records of `file` (followed as `source`) the history does not hold yet:
  // those past the cursor the daemon stored for it, all of them when the file there is no
  // longer the cursor's (rotated, recreated); nullopt when the history holds no cursor for
  // that path (the daemon follows another one) or the file is not there.
  Result<std::optional<uint64_t>> RecordsBehind(const std::string& file, EventSource source,
                                                uint64_t record_size);

  // When the listed history begins, as last's "wtmp begins" line: the time of its oldest event
  // in seconds; nullopt when it holds none.
  Result<std::optional<int64_t>> BeginsS();

  // Lists what LastBuilder(query, now_s, is_phantom) makes of the history, calling emit for each
  // row (its record and line are valid during the call only). With `use_index` and a query
  // UsesIndex accepts, rows come from the user and tty indexes (the cost grows with the rows
  // listed, not with the history); otherwise from a scan of the whole history, newest first, in
  // pages (memory stays flat). Both give the same rows (tests/utmpc/history_test.cc), with one
  // reach beyond utmp: the indexed path pairs a login with the next one on the same tty by the
  // whole tty, the scan (as last) by its first 32 bytes, which differ only for PAM ttys longer
  // than ut_line sharing those bytes. Stops at the first read error.
  Result<void> List(const LastQuery& query, int64_t now_s, LastBuilder::PhantomCheck is_phantom,
                    const Emit& emit, bool use_index = true);

  // Whether List can take the indexed path for `query`: names to show (user or tty), none of
  // them empty, 29 bytes or longer, "ftp", "uucp" or "system boot" (the lines last shows for
  // other ttys, which no index finds); no -s or -t (they drop records before the pairing); and
  // for last no -x (rows of shutdowns, runlevels and clock changes).
  static bool UsesIndex(const LastQuery& query);

  // One page of the listing for the HTTP API (GET /v1/history and /v1/failed): the rows made
  // from events with seq < before_seq, newest first, each row resolved on its own as the
  // indexed path resolves it (so a page does not depend on where the one before it ended).
  struct PageQuery {
    std::vector<std::string> users;  // rows of these users only (bytes, exact); empty: all
    std::vector<std::string> ttys;   // rows on these ttys only (bytes, exact); empty: all
    int64_t before_seq = SqliteStore::kNewest;
    std::optional<int64_t> since_us;  // the walk ends at the first row logged in before it
    std::optional<int64_t> until_us;  // rows logged in at or after it are skipped
    int64_t max_rows = 100;
    // Bounds the work of one page: after this many events it ends early (with a cursor).
    int64_t max_examined = 100000;
  };
  // Called per row with the seq of the event it is made from; returns false to stop.
  using PageEmit = std::function<bool(const LastRow&, int64_t seq)>;
  // Returns the seq to pass as before_seq for the next page, or 0 when the history is
  // exhausted.
  Result<int64_t> Page(const PageQuery& page, int64_t now_s,
                       const LastBuilder::PhantomCheck& is_phantom, const PageEmit& emit);

  const std::string& path() const { return store_->path(); }
  // A time budget for what it reads (SqliteStore::SetDeadline).
  void SetDeadline(std::optional<std::chrono::steady_clock::time_point> deadline) {
    store_->SetDeadline(deadline);
  }
  void Interrupt() { store_->Interrupt(); }

 private:
  HistoryReader(std::unique_ptr<SqliteStore> store, bool lastb);

  Result<void> Scan(const LastQuery& query, int64_t now_s, LastBuilder::PhantomCheck is_phantom,
                    const Emit& emit);
  Result<void> Indexed(const LastQuery& query, int64_t now_s,
                       const LastBuilder::PhantomCheck& is_phantom, const Emit& emit);
  // One row, or none, for `event` as the builder would list it; false when emit ended it.
  Result<bool> ListOne(const Event& event, const LastQuery& query, int64_t now_s,
                       const LastBuilder::PhantomCheck& is_phantom, const Emit& emit);
  // Lists the PAM module's sessions only when no wtmp or wtmpdb event is stored (see the top).
  Result<void> ChooseSessionSource();
  // Whether `event` is part of what this listing reads (its source and kind).
  bool Listed(const Event& event) const;
  // The first listed event after after_seq of one of `kinds` (nullopt when there is none).
  Result<std::optional<Event>> NextOfKinds(std::initializer_list<EventKind> kinds,
                                           int64_t after_seq);
  // The oldest event a listing of last shows (of the session source).
  Result<std::optional<Event>> FirstListed();
  // The first listed login or logout on `tty` after after_seq and before before_seq. Sets
  // *gone when the daemon stored a kGone event for `pid` on that tty before it: the session
  // of that login ended with its process, whatever /proc says now.
  Result<std::optional<Event>> NextOnTty(const std::string& tty, int64_t after_seq,
                                         int64_t before_seq, int32_t pid, bool* gone);

  std::unique_ptr<SqliteStore> store_;
  bool lastb_;
  // wtmp and wtmpdb (a host upgraded from one to the other has both), or PAM where there is
  // neither.
  EventSource session_source_[2] = {EventSource::kWtmp, EventSource::kWtmpdb};
};

}  // namespace utmpcd
