// SqliteStore on real SQLite files in a temporary directory: what it stores and reads back,
// atomic batches, kills at random moments, the history's indexes.
#include "store/store_fixture.h"

namespace utmpcd::store_test {

TEST_F(StoreTest, RoundTripKeepsBinaryTextAndEveryField) {
  auto store = OpenOk();
  ASSERT_TRUE(store);
  std::vector<Event> events;
  events.push_back(MakeEvent(1700000000123456, std::string("al\0ice", 6), "pts/\xff"));
  events.push_back(MakeEvent(-5, "\xc3\x28\xa0\xa1", ""));  // invalid UTF-8, pre-1970 time
  events[1].kind = EventKind::kGone;
  events[1].source = EventSource::kPam;
  events[1].remote_host = std::string("h\0st\x80", 6);
  events[1].remote_addr = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 1};
  events[1].pid = -1;
  events[1].session = INT64_MAX;
  events[1].boot_id = "";
  CursorUpdate cursor{"wtmp:/var/log/wtmp",
                      {UINT64_MAX, (uint64_t{1} << 63) + 5, 768, std::string("x\0y", 3)}};
  auto last = store->Append(events, {&cursor, 1});
  ASSERT_TRUE(last.has_value()) << last.error().message;
  EXPECT_EQ(*last, 2);
  EXPECT_EQ(events[0].seq, 1);
  EXPECT_EQ(events[1].seq, 2);

  store.reset();
  store = OpenOk();
  auto read = store->EventsFrom(0, 10);
  ASSERT_TRUE(read.has_value()) << read.error().message;
  ASSERT_EQ(read->size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const Event& want = events[i];
    const Event& got = (*read)[i];
    EXPECT_EQ(got.seq, want.seq);
    EXPECT_EQ(got.time_us, want.time_us);
    EXPECT_EQ(got.kind, want.kind);
    EXPECT_EQ(got.user, want.user);
    EXPECT_EQ(got.tty, want.tty);
    EXPECT_EQ(got.remote_host, want.remote_host);
    EXPECT_EQ(got.remote_addr, want.remote_addr);
    EXPECT_EQ(got.pid, want.pid);
    EXPECT_EQ(got.session, want.session);
    EXPECT_EQ(got.source, want.source);
    EXPECT_EQ(got.boot_id, want.boot_id);
  }
  auto stored = store->GetCursor("wtmp:/var/log/wtmp");
  ASSERT_TRUE(stored.has_value() && stored->has_value());
  EXPECT_EQ((*stored)->device, UINT64_MAX);
  EXPECT_EQ((*stored)->inode, (uint64_t{1} << 63) + 5);
  EXPECT_EQ((*stored)->offset, 768);
  EXPECT_EQ((*stored)->extra, std::string("x\0y", 3));
  EXPECT_FALSE(store->GetCursor("btmp:/var/log/btmp")->has_value());

  ASSERT_TRUE(store->SetMeta("host_id", std::string("\0id", 3)).has_value());
  ASSERT_TRUE(store->SetMeta("host_id", "second").has_value());
  EXPECT_EQ(store->GetMeta("host_id")->value_or("?"), "second");
  EXPECT_FALSE(store->GetMeta("nothing")->has_value());
}

TEST_F(StoreTest, SeqStrictlyIncreasesAcrossReopen) {
  int64_t previous = 0;
  for (int round = 0; round < 3; ++round) {
    auto store = OpenOk();
    ASSERT_TRUE(store);
    EXPECT_EQ(store->LastSeq().value_or(-1), previous);
    std::vector<Event> events(3, MakeEvent(round, "bob"));
    ASSERT_TRUE(store->Append(events, {}).has_value());
    for (const Event& event : events) {
      EXPECT_EQ(event.seq, previous + 1);
      previous = event.seq;
    }
  }
  auto store = OpenOk();
  EXPECT_EQ(store->Append({}, {}).value_or(-1), 9);  // nothing to add: the last seq
}

// Two writers that read the same records from the same cursor (two daemons on one history):
// the first stores them, the second is refused (kConflict) and stores nothing, events included.
TEST_F(StoreTest, ACheckedCursorThatMovedRefusesTheWholeAppend) {
  auto first = OpenOk();
  auto second = OpenOk();
  ASSERT_TRUE(first && second);
  CursorUpdate start{"wtmp:/w", {1, 2, 384, ""}};
  start.check = true;  // no cursor yet: expected is nullopt
  std::vector<Event> before(1, MakeEvent(1, "alice"));
  ASSERT_TRUE(first->Append(before, {&start, 1}).has_value());
  // A checked insert where a cursor already is: refused too.
  std::vector<Event> again(1, MakeEvent(1, "alice"));
  auto twice = second->Append(again, {&start, 1});
  ASSERT_FALSE(twice.has_value());
  EXPECT_EQ(twice.error().code, ErrorCode::kConflict);

  // Both read records 2 and 3 from byte 384.
  CursorUpdate next{"wtmp:/w", {1, 2, 1152, ""}};
  next.check = true;
  next.expected = start.cursor;
  std::vector<Event> by_first(2, MakeEvent(2, "bob"));
  std::vector<Event> by_second(2, MakeEvent(2, "bob"));
  ASSERT_TRUE(first->Append(by_first, {&next, 1}).has_value());
  auto refused = second->Append(by_second, {&next, 1});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_THAT(refused.error().message, HasSubstr("another writer"));
  EXPECT_EQ(by_second[0].seq, 0) << "a refused append hands out no seq";
  auto events = second->EventsFrom(0, 100);
  ASSERT_TRUE(events.has_value());
  EXPECT_EQ(events->size(), 3u) << "stored twice";
  // Unchecked updates (PAM events carry no cursor) are not affected.
  CursorUpdate plain{"wtmp:/w", {1, 2, 1536, ""}};
  ASSERT_TRUE(second->Append(by_second, {&plain, 1}).has_value());
}

// The cursor CHECK fails after the events of the batch were inserted: the whole transaction,
// events included, must be gone.
TEST_F(StoreTest, FailedCursorWriteStoresNoEvents) {
  auto store = OpenOk();
  std::vector<Event> first(2, MakeEvent(1, "carol"));
  CursorUpdate cursor{"wtmp", {1, 2, 768, "ok"}};
  ASSERT_TRUE(store->Append(first, {&cursor, 1}).has_value());

  std::vector<Event> second(5, MakeEvent(2, "carol"));
  CursorUpdate too_big{"wtmp",
                       {1, 2, 2688, std::string(store_internal::kMaxCursorExtraBytes + 1, 'x')}};
  auto failed = store->Append(second, {&too_big, 1});
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(failed.error().message, HasSubstr(path_ + ": append"));
  EXPECT_THAT(failed.error().message, HasSubstr("CHECK constraint failed"));
  for (const Event& event : second) EXPECT_EQ(event.seq, 0);
  EXPECT_EQ(store->LastSeq().value_or(-1), 2);
  EXPECT_EQ(store->GetCursor("wtmp")->value().offset, 768);

  // Still usable, and no seq was burnt by the failed batch.
  EXPECT_EQ(store->Append(second, {&cursor, 1}).value_or(-1), 7);
  EXPECT_EQ(second[0].seq, 3);
}

// A forced error on the third of four events (a trigger another connection installs).
TEST_F(StoreTest, ErrorMidBatchStoresNeitherEventsNorCursor) {
  auto store = OpenOk();
  RawExec(path_,
          "CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.user = CAST('poison' AS BLOB) "
          "BEGIN SELECT RAISE(ABORT, 'poisoned event'); END");
  std::vector<Event> events = {MakeEvent(1, "a"), MakeEvent(2, "b"), MakeEvent(3, "poison"),
                               MakeEvent(4, "d")};
  CursorUpdate cursor{"btmp", {9, 9, 1536, ""}};
  auto failed = store->Append(events, {&cursor, 1});
  ASSERT_FALSE(failed.has_value());
  EXPECT_THAT(failed.error().message, HasSubstr("poisoned event"));
  EXPECT_EQ(store->LastSeq().value_or(-1), 0);
  EXPECT_FALSE(store->GetCursor("btmp")->has_value());
  EXPECT_EQ(RawQuery(path_, "SELECT count(*) FROM events"), std::vector<std::string>{"0"});
}

// Batch b holds BatchSize(b) events (session = b, pid = index in the batch); its cursor says
// how many events precede and include it (offset) and which batch it was (extra).
int BatchSize(int64_t batch) { return 1 + static_cast<int>((batch * 7919) % 97); }

// The child: resumes from the stored cursor and appends batches until killed.
[[noreturn]] void AppendForever(const std::string& path) {
  auto store = SqliteStore::Open(path);
  if (!store) _exit(2);
  auto cursor = (*store)->GetCursor("wtmp");
  if (!cursor) _exit(3);
  int64_t batch = cursor->has_value() ? std::stoll((*cursor)->extra) + 1 : 0;
  int64_t total = cursor->has_value() ? (*cursor)->offset : 0;
  for (;; ++batch) {
    std::vector<Event> events;
    for (int i = 0; i < BatchSize(batch); ++i) {
      events.push_back(MakeEvent(batch, "u" + std::to_string(batch % 13)));
      events.back().session = batch;
      events.back().pid = i;
    }
    total += static_cast<int64_t>(events.size());
    CursorUpdate update{"wtmp", {1, 2, total, std::to_string(batch)}};
    if (!(*store)->Append(events, {&update, 1})) _exit(4);
  }
}

// Every stored batch is complete, batches are 0..k with none missing or repeated, seqs are
// 1..n, and the cursor is the last stored batch's.
void ExpectConsistent(SqliteStore& store, int64_t* batches) {
  auto events = store.EventsFrom(0, INT64_MAX);
  ASSERT_TRUE(events.has_value()) << events.error().message;
  std::map<int64_t, std::vector<int32_t>> pids_by_batch;
  for (size_t i = 0; i < events->size(); ++i) {
    ASSERT_EQ((*events)[i].seq, static_cast<int64_t>(i) + 1);
    pids_by_batch[(*events)[i].session].push_back((*events)[i].pid);
  }
  int64_t expected = 0;
  for (const auto& [batch, pids] : pids_by_batch) {
    ASSERT_EQ(batch, expected++);
    ASSERT_EQ(pids.size(), static_cast<size_t>(BatchSize(batch))) << "batch " << batch;
    for (size_t i = 0; i < pids.size(); ++i) ASSERT_EQ(pids[i], static_cast<int32_t>(i));
  }
  auto cursor = store.GetCursor("wtmp");
  ASSERT_TRUE(cursor.has_value());
  if (pids_by_batch.empty()) {
    EXPECT_FALSE(cursor->has_value());
  } else {
    ASSERT_TRUE(cursor->has_value());
    EXPECT_EQ((*cursor)->offset, static_cast<int64_t>(events->size()));
    EXPECT_EQ((*cursor)->extra, std::to_string(pids_by_batch.rbegin()->first));
  }
  *batches = static_cast<int64_t>(pids_by_batch.size());
}

TEST_F(StoreTest, KillAtRandomMomentsLosesAndRepeatsNothing) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);
  int64_t batches = 0;
  for (int round = 0; round < 6; ++round) {
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) AppendForever(path_);
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + random() % 200));
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child failed with exit status " << status;
    auto store = OpenOk();
    ASSERT_TRUE(store);
    int64_t before = batches;
    ExpectConsistent(*store, &batches);
    EXPECT_GE(batches, before);
  }

  EXPECT_GT(batches, 0);  // the children did get to write
  EXPECT_EQ(RawQuery(path_, "PRAGMA integrity_check"), std::vector<std::string>{"ok"});
}

TEST_F(StoreTest, LastTwentyOfAUserIsAnIndexLookup) {
  auto store = OpenOk();
  std::vector<Event> batch;
  for (int i = 0; i < 100000; ++i) {
    batch.push_back(MakeEvent(i, "user" + std::to_string(i % 50)));
    if (batch.size() == 1000) {
      ASSERT_TRUE(store->Append(batch, {}).has_value());
      batch.clear();
    }
  }
  auto newest = store->EventsByUser("user7", SqliteStore::kNewest, 20);
  ASSERT_TRUE(newest.has_value()) << newest.error().message;
  ASSERT_EQ(newest->size(), 20u);
  EXPECT_EQ(newest->front().seq, 99958);  // the last event of user7: i = 99957, seq = i + 1
  for (size_t i = 0; i < newest->size(); ++i) {
    EXPECT_EQ((*newest)[i].user, "user7");
    EXPECT_EQ((*newest)[i].seq, 99958 - 50 * static_cast<int64_t>(i));
  }
  auto next_page = store->EventsByUser("user7", newest->back().seq, 1);
  ASSERT_TRUE(next_page.has_value());
  EXPECT_EQ(next_page->at(0).seq, newest->back().seq - 50);
  EXPECT_TRUE(store->EventsByUser("nobody", SqliteStore::kNewest, 20)->empty());

  const std::string by_user = std::string("EXPLAIN QUERY PLAN ") + store_internal::kEventsByUser;
  auto plan = RawQuery(path_, by_user);
  ASSERT_EQ(plan.size(), 1u) << ::testing::PrintToString(plan);
  EXPECT_THAT(plan[0], HasSubstr("SEARCH events USING INDEX events_by_user (user=? AND seq<?)"));
  const std::string in_range = std::string("EXPLAIN QUERY PLAN ") + store_internal::kEventsInRange;
  plan = RawQuery(path_, in_range);
  ASSERT_EQ(plan.size(), 1u) << ::testing::PrintToString(plan);  // no TEMP B-TREE sort step
  EXPECT_THAT(plan[0], HasSubstr("SEARCH events USING INDEX events_by_time"));
  plan = RawQuery(path_, std::string("EXPLAIN QUERY PLAN ") + store_internal::kEventsFrom);
  EXPECT_THAT(plan.at(0), HasSubstr("SEARCH events USING INTEGER PRIMARY KEY"));
}

// /v1/lastlog asks each user's newest login: one key lookup in the lastlog table, however many
// failed logins of that name (a brute-forcer's) were stored since; logouts, failed logins and
// other users' logins leave it alone, and retention does not take it away.
TEST_F(StoreTest, TheNewestLoginOfAUserIsKeptInTheLastlogTable) {
  auto store = OpenOk();
  auto login = [](int64_t time, const std::string& user, const std::string& tty) {
    Event e = MakeEvent(time, user, tty);
    e.kind = EventKind::kLogin;
    e.remote_host = "host-" + std::to_string(time);
    return e;
  };
  std::vector<Event> events = {login(10, "root", "pts/0"), login(20, "root", "pts/1"),
                               login(30, "alice", "pts/2")};
  for (int i = 0; i < 20000; ++i) {
    Event failed = MakeEvent(100 + i, "root", "ssh:notty");
    failed.kind = EventKind::kFailed;
    events.push_back(failed);
  }
  Event logout = MakeEvent(50000, "root", "pts/1");
  logout.kind = EventKind::kLogout;
  events.push_back(logout);
  ASSERT_TRUE(store->Append(events, {}).has_value());
  auto root = store->LastLoginOf("root");
  ASSERT_TRUE(root.has_value()) << root.error().message;
  ASSERT_TRUE(root->has_value());
  EXPECT_EQ((*root)->seq, 2);
  EXPECT_EQ((*root)->time_us, 20);
  EXPECT_EQ((*root)->tty, "pts/1");
  EXPECT_EQ((*root)->remote_host, "host-20");
  EXPECT_FALSE(store->LastLoginOf("nobody")->has_value());
  EXPECT_FALSE(store->LastLoginOf("")->has_value());
  EXPECT_EQ(RawQuery(path_, std::string("EXPLAIN QUERY PLAN ") + store_internal::kLastLogin),
            std::vector<std::string>{"SEARCH lastlog USING PRIMARY KEY (user=?)"});

  std::vector<Event> later = {login(60000, "root", "tty1")};
  ASSERT_TRUE(store->Append(later, {}).has_value());
  EXPECT_EQ((*store->LastLoginOf("root"))->tty, "tty1");
  // Retention deletes alice's login event; her last login stays known, as lastlog(8) keeps it.
  ASSERT_GT(store->DeleteOlderThan(1000).value_or(0), 0);
  auto alice = store->LastLoginOf("alice");
  ASSERT_TRUE(alice.has_value() && alice->has_value());
  EXPECT_EQ((*alice)->time_us, 30);
}

TEST_F(StoreTest, EventsInRangeIsHalfOpenAndOrderedByTime) {
  auto store = OpenOk();
  std::vector<Event> events = {MakeEvent(30, "a"), MakeEvent(10, "b"), MakeEvent(20, "c"),
                               MakeEvent(20, "d"), MakeEvent(40, "e")};
  ASSERT_TRUE(store->Append(events, {}).has_value());
  auto range = store->EventsInRange(10, 40, 100);
  ASSERT_TRUE(range.has_value());
  std::vector<std::string> users;
  for (const Event& event : *range) users.push_back(event.user);
  EXPECT_EQ(users, (std::vector<std::string>{"b", "c", "d", "a"}));
  EXPECT_EQ(store->EventsInRange(10, 40, 2)->size(), 2u);
  EXPECT_EQ(store->EventsFrom(3, 100)->size(), 2u);
}

// The walks `utmpc last` makes (store/history_read.h): newest or oldest first by seq, never by
// time (the clock may step back), each through an index, with no sort step.
TEST_F(StoreTest, HistoryWalksFollowSeqOrderThroughIndexes) {
  auto store = OpenOk();
  ASSERT_TRUE(store);
  std::vector<Event> events;
  for (int i = 0; i < 40; ++i) {
    // Time runs backwards: seq order and time order disagree everywhere.
    Event e = MakeEvent(1000 - i, "u" + std::to_string(i % 3), "pts/" + std::to_string(i % 4));
    e.kind = i % 5 == 0 ? EventKind::kBoot : i % 2 == 0 ? EventKind::kLogin : EventKind::kLogout;
    e.source = i % 7 == 0 ? EventSource::kBtmp : i % 7 == 1 ? EventSource::kPam
                                                             : EventSource::kWtmp;
    events.push_back(e);
  }
  ASSERT_TRUE(store->Append(events, {}).has_value());
  auto seqs = [](const Result<std::vector<Event>>& got) {
    EXPECT_TRUE(got.has_value()) << got.error().message;
    std::vector<int64_t> out;
    for (const Event& e : *got) out.push_back(e.seq);
    return out;
  };
  EXPECT_EQ(seqs(store->EventsBefore(SqliteStore::kNewest, 3)), (std::vector<int64_t>{40, 39, 38}));
  EXPECT_EQ(seqs(store->EventsBefore(38, 2)), (std::vector<int64_t>{37, 36}));
  const EventSource btmp[] = {EventSource::kBtmp};
  EXPECT_EQ(seqs(store->EventsBefore(SqliteStore::kNewest, 100, btmp)),
            (std::vector<int64_t>{36, 29, 22, 15, 8, 1}));
  const EventSource wtmp_pam[] = {EventSource::kWtmp, EventSource::kPam};
  EXPECT_EQ(store->EventsBefore(SqliteStore::kNewest, 100, wtmp_pam)->size(), 34u);
  EXPECT_EQ(seqs(store->EventsBefore(9, 100, wtmp_pam)), (std::vector<int64_t>{7, 6, 5, 4, 3, 2}));
  // pts/1 holds i = 1, 5, 9, ...: seq 2, 6, 10, ...
  EXPECT_EQ(seqs(store->EventsOnTty("pts/1", 14, 2)), (std::vector<int64_t>{10, 6}));
  EXPECT_EQ(seqs(store->EventsOnTtyAfter("pts/1", 14, 3)), (std::vector<int64_t>{18, 22, 26}));
  EXPECT_TRUE(store->EventsOnTty("pts/9", SqliteStore::kNewest, 5)->empty());
  // Boots are i = 0, 5, 10, ...: seq 1, 6, 11, ...
  EXPECT_EQ(seqs(store->EventsOfKindAfter(EventKind::kBoot, 6, 2)), (std::vector<int64_t>{11, 16}));
  EXPECT_EQ(seqs(store->EventsOfKindAfter(EventKind::kBoot, 0, 1)), (std::vector<int64_t>{1}));
  EXPECT_TRUE(store->EventsOfKindAfter(EventKind::kClock, 0, 5)->empty());
  // Events with no user (logouts) are not indexed by user (schema version 5).
  EXPECT_TRUE(store->EventsByUser("", SqliteStore::kNewest, 5)->empty());
  // Logins and logouts are not indexed by kind (schema version 4).
  EXPECT_EQ(store->EventsOfKindAfter(EventKind::kLogin, 0, 5).error().code,
            ErrorCode::kInvalidArgument);

  const std::pair<const char*, const char*> plans[] = {
      {store_internal::kEventsBefore, "USING INTEGER PRIMARY KEY (rowid<?)"},
      {store_internal::kEventsBeforeFrom, "USING INTEGER PRIMARY KEY (rowid<?)"},
      {store_internal::kEventsOnTty, "USING INDEX events_by_tty_seq (tty=? AND seq<?)"},
      {store_internal::kEventsOnTtyAfter, "USING INDEX events_by_tty_seq (tty=? AND seq>?)"},
      {store_internal::kEventsOfKindAfter, "USING INDEX events_by_kind (kind=? AND seq>?)"},
  };
  for (const auto& [sql, want] : plans) {
    auto plan = RawQuery(path_, std::string("EXPLAIN QUERY PLAN ") + sql);
    ASSERT_EQ(plan.size(), 1u) << sql << ": " << ::testing::PrintToString(plan);  // no sort step
    EXPECT_THAT(plan[0], HasSubstr(want)) << sql;
  }
}

}  // namespace utmpcd::store_test
