#include "sources/journal_follower.h"


#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <utility>

#ifdef UTMPCD_HAVE_SYSTEMD
#include <systemd/sd-journal.h>
#endif

namespace utmpcd {
namespace {

constexpr std::string_view kFrom = " from ";

// "USER from HOST port N...": the user up to the last " from ", the host up to " port ".
std::optional<AuthFailure> UserFromHost(std::string_view body) {
  size_t from = body.rfind(kFrom);
  if (from == std::string_view::npos) return std::nullopt;
  std::string_view tail = body.substr(from + kFrom.size());
  size_t port = tail.find(" port ");
  if (port == std::string_view::npos || port == 0) return std::nullopt;
  AuthFailure failure;
  failure.user = std::string(body.substr(0, from));
  failure.host = std::string(tail.substr(0, port));
  failure.tty = "ssh:notty";
  return failure;
}

std::optional<AuthFailure> ParseSshd(std::string_view m) {
  constexpr std::string_view kFailed = "Failed ";
  constexpr std::string_view kInvalid = "Invalid user ";
  if (m.starts_with(kInvalid)) return UserFromHost(m.substr(kInvalid.size()));
  if (!m.starts_with(kFailed)) return std::nullopt;
  std::string_view rest = m.substr(kFailed.size());
  size_t space = rest.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  std::string_view method = rest.substr(0, space);
  // What sshd writes btmp for (auth.c, record_failed_login): passwords and what asks for one.
  if (method != "password" && !method.starts_with("keyboard-interactive") &&
      method != "challenge-response") {
    return std::nullopt;
  }
  rest = rest.substr(space);
  constexpr std::string_view kFor = " for ";
  if (!rest.starts_with(kFor)) return std::nullopt;
  rest = rest.substr(kFor.size());
  constexpr std::string_view kInvalidUser = "invalid user ";
  if (rest.starts_with(kInvalidUser)) rest = rest.substr(kInvalidUser.size());
  return UserFromHost(rest);
}

// The value of `key`= among "key=value key=value" (up to the next space), or "".
std::string_view Value(std::string_view fields, std::string_view key) {
  for (size_t at = 0; at < fields.size();) {
    size_t end = fields.find(' ', at);
    if (end == std::string_view::npos) end = fields.size();
    std::string_view word = fields.substr(at, end - at);
    if (word.size() > key.size() && word.starts_with(key) && word[key.size()] == '=') {
      return word.substr(key.size() + 1);
    }
    at = end + 1;
  }
  return {};
}

std::optional<AuthFailure> ParsePam(std::string_view m) {
  constexpr std::string_view kModule = "pam_unix(";
  constexpr std::string_view kFailure = ":auth): authentication failure;";
  if (!m.starts_with(kModule)) return std::nullopt;
  size_t failure = m.find(kFailure);
  if (failure == std::string_view::npos) return std::nullopt;
  std::string_view fields = m.substr(failure + kFailure.size());
  AuthFailure result;
  // pam_unix writes "... ruser=%s rhost=%s  user=%s": user= comes last and is the rest of the
  // line (a name may hold spaces). The first " user=" after rhost= is pam_unix's own: a chosen
  // user name ("x user=root") comes after it and stays in the name.
  constexpr std::string_view kRhost = " rhost=";
  constexpr std::string_view kUser = " user=";
  size_t rhost = fields.find(kRhost);
  size_t user = fields.find(kUser, rhost == std::string_view::npos ? 0 : rhost + kRhost.size());
  if (user != std::string_view::npos) {
    result.user = std::string(fields.substr(user + kUser.size()));
    fields = fields.substr(0, user);
  }
  result.host = std::string(Value(fields, "rhost"));
  std::string_view tty = Value(fields, "tty");
  if (tty.starts_with("/dev/")) tty.remove_prefix(5);
  result.tty = std::string(tty);
  return result;
}

bool IsSshd(std::string_view identifier) {
  return identifier == "sshd" || identifier == "sshd-session" || identifier == "sshd-auth";
}

}  // namespace

std::optional<AuthFailure> ParseAuthFailure(std::string_view identifier,
                                            std::string_view message) {
  return IsSshd(identifier) ? ParseSshd(message) : ParsePam(message);
}

#ifdef UTMPCD_HAVE_SYSTEMD
namespace {

// A field of the current entry without its "NAME=" ("" when the entry has none).
std::string_view Field(sd_journal* j, const char* name) {
  const void* data = nullptr;
  size_t length = 0;
  if (sd_journal_get_data(j, name, &data, &length) < 0) return {};
  std::string_view field(static_cast<const char*>(data), length);
  size_t equals = field.find('=');
  return equals == std::string_view::npos ? std::string_view() : field.substr(equals + 1);
}


Error JournalError(const char* what, int r) {
  return Error{ErrorCode::kIo, fmt::format("journal: {}: {}", what, std::strerror(-r))};
}

class SdJournalFollower : public JournalFollower {
 public:
  SdJournalFollower(sd_journal* j, std::string cursor, int64_t skip_through_us, size_t max_batch)
      : j_(j), cursor_(std::move(cursor)), skip_through_us_(skip_through_us),
        max_batch_(max_batch) {}
  ~SdJournalFollower() override { sd_journal_close(j_); }

  int fd() const override { return fd_; }

  Result<void> Start() {
    for (const char* match : {"SYSLOG_FACILITY=4", "SYSLOG_FACILITY=10"}) {
      if (int r = sd_journal_add_match(j_, match, 0); r < 0) return tl::unexpected(JournalError("match", r));
    }
    fd_ = sd_journal_get_fd(j_);
    if (fd_ < 0) return tl::unexpected(JournalError("descriptor", fd_));
    return Seek(cursor_);
  }

  Result<void> Seek(const std::string& cursor) {
    skip_cursor_entry_ = false;
    if (cursor.empty()) {
      if (int r = sd_journal_seek_head(j_); r < 0) return tl::unexpected(JournalError("seek", r));
      return {};
    }
    if (int r = sd_journal_seek_cursor(j_, cursor.c_str()); r < 0) {
      return tl::unexpected(JournalError("seek to the stored cursor", r));
    }
    skip_cursor_entry_ = true;  // the first entry read is the stored one, if it still exists
    return {};
  }

  Result<JournalBatch> Poll() override {
    sd_journal_process(j_);  // takes in files added or rotated since
    JournalBatch batch;
    batch.cursor = cursor_;
    for (size_t read = 0;; ++read) {
      if (read == max_batch_) {
        batch.more = true;
        break;
      }
      int r = sd_journal_next(j_);
      if (r < 0) {
        if (batch.events.empty() && batch.ignored == 0) return tl::unexpected(JournalError("read", r));
        break;
      }
      if (r == 0) break;
      if (skip_cursor_entry_) {
        skip_cursor_entry_ = false;
        if (sd_journal_test_cursor(j_, cursor_.c_str()) > 0) continue;
      }
      char* cursor = nullptr;
      if (sd_journal_get_cursor(j_, &cursor) >= 0 && cursor != nullptr) {
        batch.cursor = cursor;
        ::free(cursor);
      }
      Take(batch);
    }
    cursor_ = batch.cursor;
    return batch;
  }

 private:
  void Take(JournalBatch& batch) {
    if (Field(j_, "_UID") != "0") {
      ++batch.ignored;
      return;
    }
    auto failure = ParseAuthFailure(Field(j_, "SYSLOG_IDENTIFIER"), Field(j_, "MESSAGE"));
    uint64_t time_us = 0;
    if (!failure || sd_journal_get_realtime_usec(j_, &time_us) < 0 ||
        static_cast<int64_t>(time_us) <= skip_through_us_) {
      ++batch.ignored;
      return;
    }
    Event e;
    e.time_us = static_cast<int64_t>(time_us);
    e.kind = EventKind::kFailed;
    e.source = EventSource::kJournal;
    e.user = std::move(failure->user);
    e.tty = std::move(failure->tty);
    e.remote_host = std::move(failure->host);
    e.remote_addr = RemoteAddrOf(e.remote_host);
    std::string_view pid = Field(j_, "_PID");
    int32_t value = 0;
    for (char c : pid) {
      if (c < '0' || c > '9' || value > 100000000) {
        value = 0;
        break;
      }
      value = value * 10 + (c - '0');
    }
    e.pid = value;
    batch.events.push_back(std::move(e));
  }

  sd_journal* j_;
  std::string cursor_;
  int64_t skip_through_us_;
  size_t max_batch_;
  int fd_ = -1;
  bool skip_cursor_entry_ = false;
};

}  // namespace

Result<std::unique_ptr<JournalFollower>> JournalFollower::Open(const std::string& directory,
                                                               const std::string& cursor,
                                                               int64_t skip_through_us,
                                                               size_t max_batch) {
  sd_journal* j = nullptr;
  int r = directory.empty() ? sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM)
                            : sd_journal_open_directory(&j, directory.c_str(), 0);
  if (r < 0) {
    return tl::unexpected(JournalError(directory.empty() ? "open" : directory.c_str(), r));
  }
  auto follower = std::make_unique<SdJournalFollower>(j, cursor, skip_through_us,
                                                      std::max<size_t>(1, max_batch));
  if (auto started = follower->Start(); !started) return tl::unexpected(started.error());
  return std::unique_ptr<JournalFollower>(std::move(follower));
}

#else

Result<std::unique_ptr<JournalFollower>> JournalFollower::Open(const std::string&,
                                                               const std::string&, int64_t,
                                                               size_t) {
  return MakeError(ErrorCode::kUnsupported, "journal: utmpcd was built without libsystemd");
}

#endif

}  // namespace utmpcd
