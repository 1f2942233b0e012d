#include "store/history_read.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <vector>

#include "core/record_event.h"

namespace utmpcd {
namespace {

// A full scan reads 4096 events a page: at most about a megabyte of text in memory, and few
// calls into SQLite per million events.
constexpr int64_t kScanPage = 4096;
// Lookups of "the next event of a kind / on a tty" nearly always want the first row they read;
// a small page only matters when other sources' events sit in between.
constexpr int64_t kNextPage = 16;

// Failed logins: btmp's, the journal's (hosts without btmp) and pam_utmpcd's authfail.
constexpr EventSource kLastbSources[] = {EventSource::kBtmp, EventSource::kJournal,
                                         EventSource::kPam};

// One newest-first index lookup (a user's or a tty's events), read in pages that grow: the
// first rows of `last -n 20 alice` cost one small page, a long listing few round trips.
class Lookup {
 public:
  using Fetch = std::function<Result<std::vector<Event>>(int64_t before_seq, int64_t limit)>;
  explicit Lookup(Fetch fetch, int64_t before_seq = SqliteStore::kNewest)
      : fetch_(std::move(fetch)), before_seq_(before_seq) {}

  // The newest event not yet taken; nullptr when there is none left.
  Result<const Event*> Head() {
    if (next_ < page_.size()) return &page_[next_];
    if (done_) return nullptr;
    auto page = fetch_(before_seq_, limit_);
    if (!page) return tl::unexpected(page.error());
    page_ = std::move(*page);
    next_ = 0;
    done_ = static_cast<int64_t>(page_.size()) < limit_;
    if (!page_.empty()) before_seq_ = page_.back().seq;
    limit_ = std::min(limit_ * 8, kScanPage);
    return page_.empty() ? nullptr : &page_[0];
  }
  void Take() { ++next_; }

 private:
  Fetch fetch_;
  std::vector<Event> page_;
  size_t next_ = 0;
  bool done_ = false;
  int64_t before_seq_;
  int64_t limit_ = 32;
};

// The next event of all lookups together, newest first, each event once (a login can be found
// by its user and by its tty); nullopt at the end.
Result<std::optional<Event>> NextOfAll(std::vector<Lookup>& lookups) {
  int64_t newest = 0;  // seqs start at 1
  for (Lookup& lookup : lookups) {
    auto head = lookup.Head();
    if (!head) return tl::unexpected(head.error());
    if (*head != nullptr) newest = std::max(newest, (*head)->seq);
  }
  std::optional<Event> next;
  for (Lookup& lookup : lookups) {
    const Event* head = *lookup.Head();  // read above: no error, no new page
    if (head == nullptr || head->seq != newest) continue;
    if (!next) next = *head;
    lookup.Take();
  }
  return next;
}

}  // namespace

std::string HistoryDatabasePath(const std::string& option) {
  if (!option.empty()) return option;
  const char* env = std::getenv("UTMPC_DATABASE");
  return env != nullptr && *env != '\0' ? env : kHistoryDatabasePath;
}

HistoryReader::HistoryReader(std::unique_ptr<SqliteStore> store, bool lastb)
    : store_(std::move(store)), lastb_(lastb) {}

Result<std::unique_ptr<HistoryReader>> HistoryReader::Open(const std::string& path, bool lastb) {
  auto store = SqliteStore::Open(path, {.read_only = true});
  if (!store) return tl::unexpected(store.error());
  std::unique_ptr<HistoryReader> reader(new HistoryReader(std::move(*store), lastb));
  // A host whose daemon follows wtmp has its sessions there, and pam_utmpcd (if also set up)
  // reports the same sessions again: listing both would show each login twice. PAM is the
  // session history only of hosts without wtmp.
  if (auto chosen = reader->ChooseSessionSource(); !chosen) return tl::unexpected(chosen.error());
  return reader;
}

bool HistoryReader::Listed(const Event& e) const {
  if (lastb_) {
    return e.kind == EventKind::kFailed &&
           std::find(std::begin(kLastbSources), std::end(kLastbSources), e.source) !=
               std::end(kLastbSources);
  }
  // A gone session is the daemon's finding, not a wtmp record: last never saw it.
  return (e.source == session_source_[0] || e.source == session_source_[1]) &&
         e.kind != EventKind::kFailed && e.kind != EventKind::kGone;
}

Result<std::optional<uint64_t>> HistoryReader::RecordsBehind(const std::string& file,
                                                             EventSource source,
                                                             uint64_t record_size) {
  auto cursor = store_->GetCursor(std::string(EventSourceName(source)) + ":" + file);
  if (!cursor) return tl::unexpected(cursor.error());
  struct stat st {};
  if (!*cursor || ::stat(file.c_str(), &st) != 0) return std::optional<uint64_t>();
  uint64_t size = static_cast<uint64_t>(st.st_size);
  bool same = (*cursor)->device == static_cast<uint64_t>(st.st_dev) &&
              (*cursor)->inode == static_cast<uint64_t>(st.st_ino);
  uint64_t read_to = same ? static_cast<uint64_t>((*cursor)->offset) : 0;
  return std::optional<uint64_t>(size > read_to ? (size - read_to) / record_size : 0);
}

Result<std::optional<int64_t>> HistoryReader::BeginsS() {
  auto first = lastb_ ? NextOfKinds({EventKind::kFailed}, 0) : FirstListed();
  if (!first) return tl::unexpected(first.error());
  if (!*first) return std::optional<int64_t>();
  return std::optional<int64_t>(RecordFromEvent(**first).time_s);
}

bool HistoryReader::UsesIndex(const LastQuery& query) {
  if (query.show.empty() || query.since_s != 0 || query.until_s != 0) return false;
  if (!query.btmp && query.extended) return false;
  for (const std::string& want : query.show) {
    // 29 bytes and more could match a stored name longer than its utmp field, cut to it ("tty"
    // + 29 bytes is a full ut_line); "ftp", "uucp" and "system boot" are shown for lines no
    // index lookup finds ("ftp123", "~").
    if (want.empty() || want.size() >= kLineSize - 3 || want == "ftp" || want == "uucp" ||
        want == "system boot") {
      return false;
    }
  }
  return true;
}

Result<void> HistoryReader::List(const LastQuery& query, int64_t now_s,
                                 LastBuilder::PhantomCheck is_phantom, const Emit& emit,
                                 bool use_index) {
  if (use_index && UsesIndex(query)) return Indexed(query, now_s, is_phantom, emit);
  return Scan(query, now_s, std::move(is_phantom), emit);
}

Result<void> HistoryReader::Scan(const LastQuery& query, int64_t now_s,
                                 LastBuilder::PhantomCheck is_phantom, const Emit& emit) {
  // A login still open is "gone" when the daemon stored a kGone event for it (found through
  // the tty's index: the scan reads the session source's events only), else as /proc says.
  int64_t feeding = 0;  // the seq of the event being fed: the login asked about
  LastBuilder builder(query, now_s, [&](const LoginRecord& r) {
    bool gone = false;
    (void)NextOnTty(std::string(r.line), feeding, SqliteStore::kNewest, r.pid, &gone);
    return gone || (is_phantom && is_phantom(r));
  });
  std::span<const EventSource> sources(lastb_ ? std::span<const EventSource>(kLastbSources)
                                              : std::span<const EventSource>(session_source_));
  // The first page is small: `last -n 5` lists the newest rows without reading 4096 events.
  for (int64_t before_seq = SqliteStore::kNewest, limit = 64;;
       limit = std::min(limit * 8, kScanPage)) {
    auto page = store_->EventsBefore(before_seq, limit, sources);
    if (!page) return tl::unexpected(page.error());
    for (const Event& event : *page) {
      if (!Listed(event)) continue;
      LoginRecord record = RecordFromEvent(event);
      feeding = event.seq;
      if (!builder.Feed(record, emit)) return {};
    }
    if (static_cast<int64_t>(page->size()) < limit) return {};
    before_seq = page->back().seq;
  }
}

Result<void> HistoryReader::Indexed(const LastQuery& query, int64_t now_s,
                                    const LastBuilder::PhantomCheck& is_phantom, const Emit& emit) {
  // The builder shows a record whose user is `want`, or whose line is `want` or "tty" + `want`
  // (UsesIndex ruled out the lines it shows under another name).
  std::vector<Lookup> lookups;
  for (const std::string& want : query.show) {
    lookups.emplace_back([this, want](int64_t before_seq, int64_t limit) {
      return store_->EventsByUser(want, before_seq, limit);
    });
    for (std::string tty : {want, "tty" + want}) {
      lookups.emplace_back([this, tty](int64_t before_seq, int64_t limit) {
        return store_->EventsOnTty(tty, before_seq, limit);
      });
    }
  }
  for (;;) {
    auto next = NextOfAll(lookups);
    if (!next) return tl::unexpected(next.error());
    if (!*next) return {};
    auto go_on = ListOne(**next, query, now_s, is_phantom, emit);
    if (!go_on) return tl::unexpected(go_on.error());
    if (!*go_on) return {};
  }
}

// What last knows when it reaches a login, reading newest first: the nearest later boot or
// shutdown (it cleared every line and set the crash/down time), and the nearest later login or
// logout on the same line after that (it closes this login). For a boot row: the nearest later
// shutdown (when the boot ended). Those events, fed to a fresh builder before `event`, put it
// in the state the full scan has there, and it lists the same row.
Result<bool> HistoryReader::ListOne(const Event& event, const LastQuery& query, int64_t now_s,
                                    const LastBuilder::PhantomCheck& is_phantom, const Emit& emit) {
  const bool login = event.kind == EventKind::kLogin;
  // Without -x only logins and boots make rows in last; every btmp event makes one in lastb.
  if (!Listed(event) || (!lastb_ && !login && event.kind != EventKind::kBoot)) return true;
  std::optional<Event> down, same_line;
  bool gone = false;  // the daemon found the session's process dead with no logout
  if (!lastb_ && event.source == EventSource::kWtmpdb && event.session > 0) {
    // A wtmpdb row ends with its own end; without one, a newer boot makes it a crash.
    auto next_boot = NextOfKinds({EventKind::kBoot}, event.seq);
    if (!next_boot) return tl::unexpected(next_boot.error());
    down = std::move(*next_boot);
    auto end = store_->EndOfWtmpdbRow(event.session, event.seq);
    if (!end) return tl::unexpected(end.error());
    same_line = std::move(*end);
  } else if (!lastb_) {
    auto next_down = login ? NextOfKinds({EventKind::kBoot, EventKind::kShutdown}, event.seq)
                           : NextOfKinds({EventKind::kShutdown}, event.seq);
    if (!next_down) return tl::unexpected(next_down.error());
    down = std::move(*next_down);
    if (login && !event.tty.empty()) {
      auto next_on_tty = NextOnTty(event.tty, event.seq, down ? down->seq : SqliteStore::kNewest,
                                   event.pid, &gone);
      if (!next_on_tty) return tl::unexpected(next_on_tty.error());
      same_line = std::move(*next_on_tty);
    }
  }
  // The phantom check reads /proc and the user database: only for the row listed.
  bool listing = false;
  LastBuilder builder(query, now_s, [&](const LoginRecord& r) {
    return listing && (gone || (is_phantom && is_phantom(r)));
  });
  for (const std::optional<Event>* context : {&down, &same_line}) {
    if (!*context) continue;
    LoginRecord record = RecordFromEvent(**context);
    builder.Feed(record, [](const LastRow&) { return true; });
  }
  listing = true;
  LoginRecord record = RecordFromEvent(event);
  return builder.Feed(record, emit);
}

Result<void> HistoryReader::ChooseSessionSource() {
  static constexpr EventSource kFiles[] = {EventSource::kWtmp, EventSource::kWtmpdb};
  auto any_wtmp = store_->EventsBefore(SqliteStore::kNewest, 1, kFiles);
  if (!any_wtmp) return tl::unexpected(any_wtmp.error());
  if (any_wtmp->empty()) {
    session_source_[0] = session_source_[1] = EventSource::kPam;
  } else {
    session_source_[0] = EventSource::kWtmp;
    session_source_[1] = EventSource::kWtmpdb;
  }
  return {};
}

Result<int64_t> HistoryReader::Page(const PageQuery& page, int64_t now_s,
                                    const LastBuilder::PhantomCheck& is_phantom,
                                    const PageEmit& emit) {
  // A daemon's reader lives long: wtmp may have appeared since it opened.
  if (!lastb_ && session_source_[0] == EventSource::kPam) {
    if (auto chosen = ChooseSessionSource(); !chosen) return tl::unexpected(chosen.error());
  }
  LastQuery query;
  query.btmp = lastb_;
  // Where the candidates come from: a user's or a tty's index, or the whole history.
  std::vector<Lookup> lookups;
  if (!page.users.empty()) {
    for (const std::string& user : page.users) {
      lookups.emplace_back(
          [this, user](int64_t before_seq, int64_t limit) {
            return store_->EventsByUser(user, before_seq, limit);
          },
          page.before_seq);
    }
  } else if (!page.ttys.empty()) {
    for (const std::string& tty : page.ttys) {
      lookups.emplace_back(
          [this, tty](int64_t before_seq, int64_t limit) {
            return store_->EventsOnTty(tty, before_seq, limit);
          },
          page.before_seq);
    }
  } else {
    std::span<const EventSource> sources(lastb_ ? std::span<const EventSource>(kLastbSources)
                                                : std::span<const EventSource>(session_source_));
    lookups.emplace_back(
        [this, sources](int64_t before_seq, int64_t limit) {
          return store_->EventsBefore(before_seq, limit, sources);
        },
        page.before_seq);
  }
  int64_t rows = 0;
  int64_t examined = 0;
  for (;;) {
    auto next = NextOfAll(lookups);
    if (!next) return tl::unexpected(next.error());
    if (!*next) return 0;  // the history is exhausted
    const Event& event = **next;
    bool candidate = Listed(event) && (lastb_ || event.kind == EventKind::kLogin ||
                                       event.kind == EventKind::kBoot);
    if (candidate && (page.ttys.empty() || std::find(page.ttys.begin(), page.ttys.end(),
                                                     event.tty) != page.ttys.end())) {
      if (page.since_us && event.time_us < *page.since_us) return 0;
      if (!page.until_us || event.time_us < *page.until_us) {
        bool emitted = false;
        auto go_on = ListOne(event, query, now_s, is_phantom, [&](const LastRow& row) {
          emitted = true;
          return emit(row, event.seq);
        });
        if (!go_on) return tl::unexpected(go_on.error());
        if (!*go_on || (emitted && ++rows >= page.max_rows)) return event.seq;
      }
    }
    if (++examined >= page.max_examined) return event.seq;
  }
}

Result<std::optional<Event>> HistoryReader::FirstListed() {
  auto first = store_->FirstListedOfSource(session_source_[0]);
  if (!first || session_source_[1] == session_source_[0]) return first;
  auto second = store_->FirstListedOfSource(session_source_[1]);
  if (!second) return second;
  if (!*first || (*second && (*second)->seq < (*first)->seq)) return second;
  return first;
}

Result<std::optional<Event>> HistoryReader::NextOfKinds(std::initializer_list<EventKind> kinds,
                                                        int64_t after_seq) {
  std::optional<Event> first;
  for (EventKind kind : kinds) {
    for (int64_t after = after_seq; !first || after < first->seq;) {
      auto page = store_->EventsOfKindAfter(kind, after, kNextPage);
      if (!page) return tl::unexpected(page.error());
      auto it =
          std::find_if(page->begin(), page->end(), [this](const Event& e) { return Listed(e); });
      if (it != page->end()) {
        if (!first || it->seq < first->seq) first = std::move(*it);
        break;
      }
      if (static_cast<int64_t>(page->size()) < kNextPage) break;
      after = page->back().seq;
    }
  }
  return first;
}

Result<std::optional<Event>> HistoryReader::NextOnTty(const std::string& tty, int64_t after_seq,
                                                      int64_t before_seq, int32_t pid,
                                                      bool* gone) {
  for (int64_t after = after_seq;;) {
    auto page = store_->EventsOnTtyAfter(tty, after, kNextPage);
    if (!page) return tl::unexpected(page.error());
    for (Event& e : *page) {
      if (e.seq >= before_seq) return std::optional<Event>();
      // Only logins and logouts touch a line in last (a DEAD_PROCESS closes, a login closes).
      bool closes = e.kind == EventKind::kLogin || e.kind == EventKind::kLogout;
      if (closes && Listed(e)) return std::optional<Event>(std::move(e));
      if (e.kind == EventKind::kGone && e.pid == pid) *gone = true;
    }
    if (static_cast<int64_t>(page->size()) < kNextPage) return std::optional<Event>();
    after = page->back().seq;
  }
}

}  // namespace utmpcd
