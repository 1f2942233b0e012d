// FleetStore: utmpsd's fleet-wide history (DESIGN.md, "Fleet (port 430)"): the events of every
// followed host, keyed (host, seq), the sessions they open and close, each user's newest login
// per host, and where each host's stream resumes. One interface, two stores with one schema:
// PostgreSQL (libpq) for a fleet, SQLite for a few hosts.
//
// A batch is one transaction: the events, the sessions they open and close, the lastlog rows
// and the host's resume point commit together, so a follower that dies resumes exactly where
// the store stopped. An event at or below the stored resume point is skipped (a re-delivered
// event is a no-op), so nothing is stored twice whatever the network repeats.
//
// Every table leads its primary key with the host (so the schema distributes over Citus by
// host, docs/FLEET.md).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/result.h"

namespace utmpcd {

// The events a host's stream gave, in its seq order, and the history they are of (the
// SEQ@HISTORY id's HISTORY; "" when unknown).
struct FleetBatch {
  std::string host;
  std::string history;
  std::vector<Event> events;
  // The host's seqs went back to this one within its history (its stream said "reset",
  // reason "ahead": a backup of its database restored): its events after it are stored
  // above everything stored for it before, not taken for ones stored already.
  std::optional<int64_t> rebase_to{};
  // When utmpsd received the batch's first event (microseconds since the epoch, its clock; 0:
  // unknown): the host's lag is how long that waited until it was stored.
  int64_t received_us = 0;
  // Of a host no instance follows (one running rwhod, whose packets utmpsd reads): its row,
  // when this batch makes it, is not among the hosts the instances share out (Claim).
  bool unfollowed = false;
};

// Where a host stands in the store.
struct FleetHost {
  std::string host;
  std::string history;     // the host's history its events came from ("" before the first)
  int64_t last_seq = 0;    // the host's seq of the newest stored event: resume after it
  int64_t stored_seq = 0;  // the store's seq of that event (host seq + a base, see .cc)
  int64_t last_event_us = 0;  // time of the newest stored event; 0 when none
  int64_t stored_at_us = 0;   // when the newest batch of this host was stored
  int64_t lag_ms = 0;         // how long its events of that batch waited in utmpsd to be stored
  std::string owner;          // the utmpsd instance following it ("" when none)
  int64_t lease_until_us = 0;
  std::string state;          // "up", "down", "new" (never reached)
  int64_t state_since_us = 0;
  std::string problem;        // why it is down ("" when up)
};

// What Store did.
struct FleetStoreResult {
  int64_t stored = 0;   // events stored
  int64_t skipped = 0;  // events at or below a host's resume point (re-delivered)
  std::map<EventKind, int64_t> stored_by_kind;  // `stored`, by the events' kind
  // Hosts whose batch was refused because another instance holds them (see Claim).
  std::vector<std::string> not_owned;
};

// A session as the fleet knows it: a login (or a boot) and how it ended, if it did.
struct FleetSession {
  std::string hostname;
  int64_t seq = 0;  // the store's seq of the login or boot event
  bool boot = false;
  std::string user, tty, remote_host;
  std::array<uint8_t, 16> addr{};
  int64_t pid = 0;
  int64_t session = 0;
  int64_t login_us = 0;
  // "" while open; else "logout", "crash", "down", "gone", "boot" (a boot that ended).
  std::string end;
  std::optional<int64_t> end_us;
  // The fleet position of the batch that opened or last ended it (SessionsChangedAfter).
  int64_t changed_pos = 0;
};

// A fleet event: the host's event, with the store's seq and a fleet-wide position.
struct FleetEvent {
  std::string hostname;
  int64_t host_seq = 0;  // the seq the host gave it
  Event event;           // event.seq: the store's seq of this host
};

struct FleetLastlog {
  std::string user;
  std::string hostname;
  std::string tty, remote_host;
  int64_t time_us = 0;
};

// Filters of the queries. Empty lists match everything; given several values, any matches.
struct FleetFilter {
  std::vector<std::string> users;  // bytes, exactly
  std::vector<std::string> hosts;  // host names as configured
  std::vector<std::string> ttys;
  std::optional<int64_t> since_us;  // login (or attempt) time at or after
  std::optional<int64_t> until_us;  // before
  int64_t limit = 100;
  // Paging, newest first: only rows strictly older than (time_us, hostname, seq).
  struct After {
    int64_t time_us = 0;
    std::string hostname;
    int64_t seq = 0;
  };
  std::optional<After> before{};
  // History and Failed of one host (hosts has one name): newest recorded first, by seq, as
  // the host's own last lists them (a clock set back does not reorder them); `before` then
  // compares the seq only.
  bool host_order = false;
};

struct FleetStoreOptions {
  // PostgreSQL: the application_name the server shows; connect timeout.
  std::string application_name = "utmpsd";
  int connect_timeout_s = 5;
  // SQLite: how long a write waits for another writer.
  int busy_timeout_ms = 5000;
};

class FleetStore {
 public:
  // "postgresql://..." or "postgres://..." (or a libpq "key=value" string starting with
  // "host=" / "dbname="): PostgreSQL; anything else is the path of a SQLite file, made when
  // missing. The schema is created or migrated in one transaction; a schema newer than this
  // build fails with kUnsupported. Every message names the store (the URL without password).
  static Result<std::unique_ptr<FleetStore>> Open(const std::string& url,
                                                  const FleetStoreOptions& options = {});
  virtual ~FleetStore() = default;

  // "postgresql" or "sqlite".
  virtual const char* kind() const = 0;
  // The URL or path, without a password.
  virtual const std::string& name() const = 0;

  // The hosts to follow: rows are made for those that have none (state "new"); the rows of
  // hosts no longer listed stay (their history is kept) but nobody follows them. Every
  // instance sharing the database is meant to list the same hosts.
  virtual Result<void> SetHosts(std::span<const std::string> hosts) = 0;
  // The rows of the hosts followed and of those heard through rwho (history "rwhod"), by
  // name.
  virtual Result<std::vector<FleetHost>> Hosts() = 0;

  // Stores the batches in one transaction (see the top of this file). With `owner` not empty,
  // the batch of a host that `owner` does not hold is left out and named in not_owned. A batch
  // of another history than the host's stored one starts that host's seqs anew above what is
  // stored (nothing is overwritten). Events must be in seq order within a batch.
  virtual Result<FleetStoreResult> Store(std::span<const FleetBatch> batches,
                                         std::string_view owner) = 0;

  // A host's state as its follower sees it: "up" or "down" with the reason.
  virtual Result<void> SetHostState(std::string_view host, std::string_view state,
                                    std::string_view problem, int64_t since_us) = 0;

  // Leases (scale-out, docs/FLEET.md), in one transaction on the database's clock: marks
  // instance `owner` alive until lease_ms from now, renews its leases as long, gives up those
  // of hosts no longer followed and those above its fair share (the followed hosts divided
  // among the live instances, rounded up), and takes hosts nobody holds (or whose lease ran
  // out) up to that share. Returns the hosts `owner` holds now, by name.
  // Only hosts of `known` are taken (the ones this instance can follow: its configuration's);
  // any other it holds is given back.
  virtual Result<std::vector<std::string>> Claim(std::string_view owner, int64_t lease_ms,
                                                 std::span<const std::string> known) = 0;
  // Gives up all of `owner`'s leases and its place among the instances (a clean stop), so
  // the others take its hosts at once.
  virtual Result<void> Release(std::string_view owner) = 0;

  // Queries. Sessions open now (end ""), by host then login time.
  virtual Result<std::vector<FleetSession>> OpenSessions(const FleetFilter& filter) = 0;
  // Each host's boot that has not ended (the host's uptime), by host.
  virtual Result<std::vector<FleetSession>> OpenBoots() = 0;
  // Up to `limit` logins (no boots) opened or ended by batches with positions above `after`,
  // in position order: what changed in the sessions open now since a reader saw `after`.
  // Positions are given in commit order, so a reader that applies these in turn misses none.
  virtual Result<std::vector<FleetSession>> SessionsChangedAfter(int64_t after, int64_t limit) = 0;
  // Sessions (logins and boots) newest login first, as `last` lists them host by host.
  virtual Result<std::vector<FleetSession>> History(const FleetFilter& filter) = 0;
  // Failed logins newest first (FleetEvent::event of kind kFailed).
  virtual Result<std::vector<FleetEvent>> Failed(const FleetFilter& filter) = 0;
  // Each user's newest login on any host (users and hosts of the filter only).
  virtual Result<std::vector<FleetLastlog>> Lastlog(const FleetFilter& filter) = 0;
  // Up to `limit` events of every host with a fleet position above `after` (0: from the
  // start), oldest first, and each one's position (FleetEvent::event.seq stays the store's
  // seq). Positions grow with commit order, so a reader never skips one committed later.
  struct Positioned {
    int64_t position = 0;
    FleetEvent event;
  };
  virtual Result<std::vector<Positioned>> EventsAfter(int64_t after, int64_t limit) = 0;
  // The newest fleet position (0: none).
  virtual Result<int64_t> LastPosition() = 0;

  // Retention: events and ended sessions of before `time_us` go (PostgreSQL drops whole
  // monthly partitions that end before it). Returns how many rows (or partitions) went.
  virtual Result<int64_t> DropOlderThan(int64_t time_us) = 0;
};

}  // namespace utmpcd
