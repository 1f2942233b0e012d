// From a login record to the event it stands for (DESIGN.md, "Data model"), and back.
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

// The record util-linux last (or lastb) would have read for `event`: EffectiveType and
// LastBuilder treat it as they treat the record EventFromRecord made the event from. A login is
// a USER_PROCESS, a logout (and a gone session) a DEAD_PROCESS, a boot a BOOT_TIME, a shutdown
// or runlevel change a RUN_LVL (user and pid as stored: "shutdown", or "runlevel" with the level
// in the pid), a clock change NEW_TIME on "{" and OLD_TIME otherwise ("|"), a failed login the
// LOGIN_PROCESS that login(1) and sshd write to btmp. Text is cut as a utmp field holds it: at
// the first NUL and at the field's size. What events do not keep (ut_id, ut_exit) is empty or
// zero. The record's views point into `event`, which must outlive it and stay unchanged.
LoginRecord RecordFromEvent(const Event& event);

}  // namespace utmpcd
