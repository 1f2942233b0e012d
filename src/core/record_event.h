// From a login record to the event it stands for (DESIGN.md, "Data model").
#pragma once

#include <optional>

#include "core/event.h"
#include "core/login_record.h"

namespace utmpcd {

// The event `record` stands for, read as util-linux last reads it (EffectiveType): in wtmp a
// login, a logout, a boot, a shutdown (also a change to runlevel 0 or 6), a runlevel change or a
// clock change; in btmp (source kBtmp) every record with a user is a failed login. Records that
// are no event (EMPTY, INIT_PROCESS, LOGIN_PROCESS, ACCOUNTING, a logout with no line) give
// nullopt. The text is copied; the event's seq is 0 until it is stored.
std::optional<Event> EventFromRecord(const LoginRecord& record, EventSource source);

}  // namespace utmpcd
