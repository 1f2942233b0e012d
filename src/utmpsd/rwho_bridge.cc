#include "utmpsd/rwho_bridge.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <utility>

#include <fmt/format.h>

namespace utmpcd {
namespace {

constexpr int64_t kUs = 1000000;


}  // namespace

std::vector<Event> RwhoEvents(const WhodStatus& status, std::span<const FleetSession> open,
                              std::optional<int64_t> open_boot_us, const RwhoRow& row) {
  std::vector<Event> out;
  int64_t next_seq = row.last_seq + 1;
  auto add = [&](EventKind kind, int64_t time_us, const std::string& user,
                 const std::string& tty) {
    Event e;
    e.seq = next_seq++;
    e.kind = kind;
    e.time_us = time_us;
    e.user = user;
    e.tty = tty;
    e.source = EventSource::kRwhod;
    out.push_back(std::move(e));
  };
  constexpr int64_t kBootJitterS = 120;
  bool booted = false;
  if (status.boot_s > 0) {
    // After everything stored of the host; with a boot open, also well after it and after
    // the previous packet (when utmpsd has one since it started).
    booted = status.boot_s * kUs > row.last_event_us &&
             (!open_boot_us || (status.boot_s > *open_boot_us / kUs + kBootJitterS &&
                                status.boot_s > row.last_send_s));
  }
  // tty → (user, login) of what the store has open; the store ends what was open as it
  // stores a boot (a crash: rwhod says nothing of a shutdown).
  std::map<std::string, std::pair<std::string, int64_t>> stored;
  if (booted) {
    add(EventKind::kBoot, status.boot_s * kUs, "reboot", "~");
  } else {
    for (const FleetSession& s : open) {
      if (!s.boot && s.end.empty()) stored[s.tty] = {s.user, s.login_us / kUs};
    }
  }
  std::map<std::string, const WhodEntry*> listed;  // tty → its newest login
  for (const WhodEntry& e : status.entries) {
    const WhodEntry*& slot = listed[e.tty];
    if (slot == nullptr || e.login_s > slot->login_s) slot = &e;
  }
  // Ends first: a tty's new session opens after its old one ended.
  if (status.entries.size() < kWhodMaxSent) {
    for (const auto& [tty, who] : stored) {
      if (!listed.contains(tty)) {
        add(EventKind::kLogout, std::max(status.send_s, who.second) * kUs, who.first, tty);
      }
    }
  }
  std::vector<const WhodEntry*> logins;
  for (const auto& [tty, e] : listed) {
    auto it = stored.find(tty);
    if (it != stored.end() && it->second == std::make_pair(e->user, e->login_s)) continue;
    if (it != stored.end()) {
      // Another session on the tty: the stored one has ended (its end said here, so that it
      // is never before its login, whatever the new one's login time).
      add(EventKind::kLogout, std::max(status.send_s, it->second.second) * kUs, it->second.first,
          tty);
    }
    logins.push_back(e);
  }
  std::stable_sort(logins.begin(), logins.end(),
                   [](const WhodEntry* a, const WhodEntry* b) { return a->login_s < b->login_s; });
  for (const WhodEntry* e : logins) add(EventKind::kLogin, e->login_s * kUs, e->user, e->tty);
  return out;
}

namespace {

// The host's row into `row`, unless it is there and need not be read again.
Result<void> ReadRow(FleetStore& store, const std::string& name, std::optional<RwhoRow>& row) {
  if (row && !row->reread) return {};
  auto hosts = store.Hosts();
  if (!hosts) return tl::unexpected(hosts.error());
  RwhoRow r;
  if (row) r.last_send_s = row->last_send_s;
  for (const FleetHost& h : *hosts) {
    if (h.host != name) continue;
    r.last_seq = h.last_seq;
    r.last_event_us = h.last_event_us;
    r.up = h.state == "up";
  }
  row = r;
  return {};
}

}  // namespace

Result<FleetStoreResult> RetireRwhoHost(FleetStore& store, const std::string& name,
                                        int64_t time_us, std::optional<RwhoRow>& row) {
  if (auto read = ReadRow(store, name, row); !read) return tl::unexpected(read.error());
  FleetFilter filter;
  filter.hosts = {name};
  auto open = store.OpenSessions(filter);
  if (!open) return tl::unexpected(open.error());
  if (open->empty()) return FleetStoreResult{};
  Event e;
  e.seq = row->last_seq + 1;
  e.kind = EventKind::kShutdown;
  e.time_us = std::max(time_us, row->last_event_us);
  e.user = "shutdown";
  e.tty = "~";
  e.source = EventSource::kRwhod;
  FleetBatch batch{.host = name,
                   .history = "rwhod",
                   .events = {e},
                   .rebase_to = std::nullopt,
                   .received_us = 0,
                   .unfollowed = true};
  auto stored = store.Store({&batch, 1}, "");
  if (!stored) return stored;
  row->last_seq = e.seq;
  row->last_event_us = e.time_us;
  return stored;
}

Result<FleetStoreResult> StoreRwhoStatus(FleetStore& store, const WhodStatus& status,
                                         int64_t received_us, std::optional<RwhoRow>& row) {
  const std::string& name = status.hostname;
  if (auto read = ReadRow(store, name, row); !read) return tl::unexpected(read.error());
  FleetFilter filter;
  filter.hosts = {name};
  filter.limit = 1000000;
  auto open = store.OpenSessions(filter);
  if (!open) return tl::unexpected(open.error());
  auto boots = store.OpenBoots();
  if (!boots) return tl::unexpected(boots.error());
  std::optional<int64_t> open_boot_us;
  for (const FleetSession& b : *boots)
    if (b.hostname == name) open_boot_us = b.login_us;
  std::vector<Event> events = RwhoEvents(status, *open, open_boot_us, *row);
  row->last_send_s = status.send_s;
  if (events.empty()) return FleetStoreResult{};
  FleetBatch batch{.host = name,
                   .history = "rwhod",
                   .events = events,
                   .rebase_to = std::nullopt,
                   .received_us = received_us,
                   .unfollowed = true};
  auto stored = store.Store({&batch, 1}, "");
  if (!stored) return stored;
  if (stored->skipped > 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{} event(s) at or below the stored seq {}: the host's row is "
                                 "read again",
                                 stored->skipped, row->last_seq));
  }
  row->last_seq = events.back().seq;
  for (const Event& e : events) row->last_event_us = std::max(row->last_event_us, e.time_us);
  return stored;
}

WhodStatus SpoolStatus(const std::string& name, std::span<const FleetSession> open, int64_t now_s,
                       int64_t heard_s) {
  WhodStatus s;
  s.hostname = name;
  s.send_s = now_s;
  s.recv_s = heard_s;
  s.boot_s = now_s + 1;  // unknown: ruptime prints "up ??:??"
  std::vector<const FleetSession*> logins;
  for (const FleetSession& f : open) {
    if (!f.end.empty()) continue;
    if (f.boot) {
      s.boot_s = f.login_us / kUs;
    } else {
      logins.push_back(&f);
    }
  }
  std::stable_sort(logins.begin(), logins.end(), [](const FleetSession* a, const FleetSession* b) {
    return a->login_us < b->login_us;
  });
  for (const FleetSession* f : logins) {
    if (s.entries.size() == kWhodMaxEntries) break;
    // What rwho prints is what a terminal gets: printable ASCII only, cut to the fields.
    auto printable = [](const std::string& text) {
      std::string out;
      for (char c : text.substr(0, 8)) {
        out += (c >= 0x21 && c <= 0x7e) ? c : '?';
      }
      return out;
    };
    s.entries.push_back(WhodEntry{.tty = printable(f->tty),
                                  .user = printable(f->user),
                                  .login_s = f->login_us / kUs,
                                  .idle_s = 0});
  }
  return s;
}

namespace {

std::string Lower(std::string t) {
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

}  // namespace

std::set<std::string> RwhoReservedNames(const std::vector<std::string>& followed) {
  std::set<std::string> reserved;
  for (const std::string& f : followed) {
    std::string l = Lower(f);
    reserved.insert(l.substr(0, l.find('.')));
    reserved.insert(std::move(l));
  }
  return reserved;
}

bool RwhoNameFollowed(const std::string& name, const std::set<std::string>& reserved) {
  return reserved.contains(Lower(name));
}

bool SpoolName(const std::string& name) {
  if (name.empty() || name.size() > 31) return false;
  if (name.find_first_not_of('.') == std::string::npos) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_';
  });
}

}  // namespace utmpcd
