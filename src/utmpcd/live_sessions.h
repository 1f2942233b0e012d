// LiveSessions: the sessions utmp says are open, each with a pidfd on its leader, so the event
// loop learns the moment a leader dies (pidfd_open(2): readable when the process exits).
//
// A leader that dies without its logout being recorded (a killed sshd, an OOM kill, a crash)
// leaves a ghost in utmp that who(1) shows forever. After a grace period for the logout to
// arrive, such a session is "gone": the daemon stores a kGone event for it, once.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/event.h"
#include "sources/utmp_snapshot.h"

namespace utmpcd {

class LiveSessions {
 public:
  LiveSessions() = default;
  LiveSessions(const LiveSessions&) = delete;
  LiveSessions& operator=(const LiveSessions&) = delete;
  ~LiveSessions();

  // A session whose leader has a pidfd to wait on, or -1 when its leader was already gone (or
  // pidfds are unavailable: then `watchable` is false and the session is only checked when utmp
  // changes).
  struct Watch {
    std::string key;  // line + pid
    int pidfd = -1;
    bool watchable = true;
  };

  struct Changes {
    std::vector<Watch> added;          // sessions that appeared, each with its pidfd
    std::vector<std::string> removed;  // keys of sessions that left utmp (logged out)
  };
  // Applies a new reading of utmp: sessions that disappeared are forgotten (their pidfds
  // closed); sessions that appeared get a pidfd (owned here: dup it to keep it longer).
  Changes Update(const std::vector<LiveSession>& now);

  // The session under `key` if utmp still lists it and it was not reported yet; nullopt
  // otherwise (it logged out, or it is already reported).
  std::optional<LiveSession> StillOpen(const std::string& key) const;

  // The sessions utmp lists whose leader is not known to be dead: who is really logged in.
  std::vector<LiveSession> Open() const;

  // Its leader died (the pidfd became readable): `key` is no longer listed by Open, though it
  // is reported gone (MarkGone) only after the grace period, if its logout never comes.
  void MarkDead(const std::string& key);

  // Marks `key` reported and closes its pidfd; returns the kGone event to store (now_us).
  // `source`: where the session was seen (utmp, or logind).
  Event MarkGone(const std::string& key, int64_t now_us, EventSource source = EventSource::kUtmp);

  size_t size() const { return sessions_.size(); }

 private:
  struct Entry {
    LiveSession session;
    int pidfd = -1;
    bool reported = false;
    bool dead = false;  // its leader is known to have died (at start-up, or since)
  };
  static std::string KeyOf(const LiveSession& s);
  void Close(Entry& e);

  std::map<std::string, Entry> sessions_;
};

}  // namespace utmpcd
