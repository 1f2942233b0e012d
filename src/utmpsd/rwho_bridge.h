// utmpsd's bridge to rwho (docs/FLEET.md, "rwho and ruptime"), without sockets or files: what a
// host's rwhod packet changes in the fleet store, and the spool file rwho(1) and ruptime(1) read
// for a host the fleet follows.
//
// A rwhod packet is a snapshot (who is on now), not events. Against the sessions the store has
// open for the host it becomes events: a boot when the host booted after everything stored of
// it, a login for each entry the store does not have open, a logout (at the packet's send time,
// the first moment the host said they were gone) for each open session the packet no longer
// lists. All of them on the host's clock, so a clock set differently from utmpsd's does not
// reorder them. A packet holding 42 entries may have left sessions out (rwhod sends no more):
// it opens sessions and ends none.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "api/whod.h"
#include "core/event.h"
#include "store/fleet_store.h"

namespace utmpcd {

// The events `status` brings against `open` (the host's sessions open in the store, boots
// among them) and the time of its newest stored event; their seqs count from `next_seq`.
std::vector<Event> RwhoEvents(const WhodStatus& status, std::span<const FleetSession> open,
                              int64_t last_event_us, int64_t next_seq);

// Where the store stands for a rwho host: read from its row once, then kept by the caller.
struct RwhoRow {
  int64_t last_seq = 0, last_event_us = 0;
  bool up = false;
};

// Stores in `store` what `status` brings (RwhoEvents against the host's open sessions), as one
// batch of history "rwhod" (its row, when new, not shared out by the leases). `row`: the
// host's, read from the store when empty (after a restart too, so seqs go on from the stored
// ones), and brought up to date.
Result<FleetStoreResult> StoreRwhoStatus(FleetStore& store, const WhodStatus& status,
                                         int64_t received_us, std::optional<RwhoRow>& row);

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
