// utmpsd's bridge to rwho (docs/FLEET.md, "rwho and ruptime"), without sockets or files: what a
// host's rwhod packet changes in the fleet store, and the spool file rwho(1) and ruptime(1) read
// for a host the fleet follows.
//
// A rwhod packet is a snapshot (who is on now), not events. Against the sessions the store has
// open for the host it becomes events: a boot when the host booted again, a login for each
// entry the store does not have open, a logout (at the packet's send time, the first moment
// the host said they were gone) for each open session the packet no longer lists. All of them
// on the host's clock, so a clock set differently from utmpsd's does not reorder them.
// - The store pairs a session's end with its tty: one session a tty, the newest login listed
//   on it (a stale utmp entry beside it would otherwise open and close both at every packet).
// - A packet of 41 entries (rwhod sends no more) may have left sessions out: it ends none.
// - rwhod computes the boot time anew (now minus uptime): it moves by a second, or by a clock
//   step. A boot is new when it is after everything stored of the host and, with a boot
//   open, over 2 minutes after it and after the host's previous packet.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "api/whod.h"
#include "core/event.h"
#include "store/fleet_store.h"

namespace utmpcd {

// Where the store stands for a rwho host: read from its row once, then kept by the caller.
struct RwhoRow {
  int64_t last_seq = 0, last_event_us = 0;
  bool up = false;
  int64_t last_send_s = 0;  // the previous packet's (0: none since utmpsd started)
  bool reread = false;      // read last_seq, last_event_us and up again (last_send_s stays)
};

// The events `status` brings against `open` (the host's logins open in the store), its open
// boot, and `row`; their seqs count from row.last_seq + 1.
std::vector<Event> RwhoEvents(const WhodStatus& status, std::span<const FleetSession> open,
                              std::optional<int64_t> open_boot_us, const RwhoRow& row);

// Stores in `store` what `status` brings (RwhoEvents against the host's open sessions), as one
// batch of history "rwhod" (its row, when new, not shared out by the leases). `row`: the
// host's, read from the store when empty (after a restart too, so seqs go on from the stored
// ones), and brought up to date. An event the store took for one it had (its seqs ahead of
// `row`) is an error: the caller reads the row again.
Result<FleetStoreResult> StoreRwhoStatus(FleetStore& store, const WhodStatus& status,
                                         int64_t received_us, std::optional<RwhoRow>& row);

// The names a rwho packet may not take, for the hosts `followed`: each name and its first label
// (rwhod sends its host name without the domain), in lower case.
std::set<std::string> RwhoReservedNames(const std::vector<std::string>& followed);
// Whether `name` is one of `reserved` (RwhoReservedNames), in any case.
bool RwhoNameFollowed(const std::string& name, const std::set<std::string>& reserved);

// A rwho host whose name is now a followed host's (web1 for web1.example.org): what it has open
// ends ("down", at `time_us`) by a shutdown event, for its utmpcd tells from now on, under the
// followed name. Nothing is stored when nothing is open.
Result<FleetStoreResult> RetireRwhoHost(FleetStore& store, const std::string& name,
                                        int64_t time_us, std::optional<RwhoRow>& row);

// A host the fleet follows, as a spool file gives it to rwho and ruptime: its open sessions
// (the first 42 by login time, idle 0: the events carry no idle time) and its boot (a boot
// after now when no boot is open, which ruptime shows as "up ??:??"). `heard_s`: the
// receive time, now while the host's stream is up, else when it went down (ruptime calls a
// host down 11 minutes after it). Load averages are 0: the events carry none.
WhodStatus SpoolStatus(const std::string& name, std::span<const FleetSession> open, int64_t now_s,
                       int64_t heard_s);

// Whether `name` may name a spool file (whod.NAME) and go in a packet's host name: 1 to 31
// letters, digits, '-', '.', '_', and not only dots.
bool SpoolName(const std::string& name);

}  // namespace utmpcd
