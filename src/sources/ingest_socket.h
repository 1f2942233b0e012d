// IngestSocket: the local Unix socket where pam_utmpcd.so reports session open and close
// (DESIGN.md, "Sources"; the datagram is sources/ingest_message.h).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "sources/ingest_message.h"

namespace utmpcd {

inline constexpr const char* kDefaultIngestSocketPath = "/run/utmpcd/ingest.sock";

// Whether a Unix socket file may be replaced by a new one bound at `path`: yes when nothing is
// there or its owner is gone (a connection is refused). kIo "WHAT: PATH is in use by another
// process" when something answers; kInvalidArgument when the path is not a socket. Changes
// nothing.
Result<void> CheckSocketUnused(const std::string& path, std::string_view what);

// A non-blocking, close-on-exec AF_UNIX SOCK_DGRAM socket bound at a path. Datagrams rather
// than SEQPACKET: one descriptor for the event loop and no per-client connection to hold, yet
// each message still arrives whole or not at all. The sender's identity is the kernel's
// SCM_CREDENTIALS (SO_PASSCRED), checked per datagram: only uid 0 is accepted. A rejected or
// malformed datagram is counted and dropped; nothing is ever sent back. Not thread-safe.
class IngestSocket {
 public:
  struct Options {
    std::string path = kDefaultIngestSocketPath;
    // 0600: only root can send at all (the credential check is then a second wall). 0660 lets
    // the socket's group connect, whose members are still rejected unless they are uid 0.
    mode_t mode = 0600;
  };

  // One accepted message and who sent it, as the kernel vouches.
  struct Received {
    IngestMessage message;
    pid_t sender_pid = 0;
    uid_t sender_uid = 0;
  };

  // Totals since Open; never reset.
  struct Counters {
    uint64_t accepted = 0;
    uint64_t rejected = 0;   // sender not uid 0, or no credentials attached
    uint64_t malformed = 0;  // from root, but DecodeIngestMessage refused it (or oversized)
  };

  // Bounds one Drain: a flood cannot hold the event loop. fd() stays readable while more
  // datagrams wait, so a level-triggered loop (asio's async_wait) simply calls Drain again.
  static constexpr size_t kMaxPerDrain = 1024;

  // Creates the parent directory (0755) if missing, then binds at options.path with
  // options.mode. An existing socket file nobody listens on (ECONNREFUSED: a daemon that
  // died) is replaced atomically: the new socket is bound at a temporary name in the same
  // directory, chmod-ed, then renamed over it, so the path never has the wrong mode. Fails with
  // kInvalidArgument when the path is too long or something other than a socket is there (it
  // is never deleted), kIo when another process is listening there or a system call fails.
  static Result<IngestSocket> Open(const Options& options);
  // Takes over a bound AF_UNIX SOCK_DGRAM socket handed over by systemd (socket activation),
  // setting SO_PASSCRED and non-blocking; its file is systemd's and stays. Datagrams queued
  // before SO_PASSCRED carry no credentials and are rejected, unless the socket unit sets
  // PassCredentials=yes. kInvalidArgument for any other kind of socket (then `fd` is closed).
  static Result<IngestSocket> Adopt(int fd);

  IngestSocket(IngestSocket&& other) noexcept;
  IngestSocket& operator=(IngestSocket&& other) noexcept;
  IngestSocket(const IngestSocket&) = delete;
  IngestSocket& operator=(const IngestSocket&) = delete;
  // Closes the socket and removes the path if it is still this socket's file.
  ~IngestSocket();

  int fd() const { return fd_; }
  // Where it is bound (also when handed over).
  const std::string& path() const { return path_.empty() ? adopted_path_ : path_; }
  const Counters& counters() const { return counters_; }

  // Reads pending datagrams without blocking (up to kMaxPerDrain; none pending: an empty
  // vector) and returns those from uid 0 that decode, in arrival order. Descriptors a sender
  // attached are closed at once. Fails with kIo only when recvmsg(2) does (not for EAGAIN) before
  // any message was accepted; after one, the messages are returned and the error left for the
  // next call.
  Result<std::vector<Received>> Drain();

 private:
  IngestSocket() = default;
  void Reset();

  std::string path_;          // bound here by Open: removed again by Reset
  std::string adopted_path_;  // handed over: systemd's file, left alone
  int fd_ = -1;
  dev_t dev_ = 0;  // the socket file's identity, so the destructor never unlinks a successor's
  ino_t ino_ = 0;
  Counters counters_;
};

}  // namespace utmpcd
