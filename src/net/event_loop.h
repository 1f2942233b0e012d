// EventLoop: one thread's event loop (Boost.Asio's io_context behind it) with the waits a
// daemon needs, so that no program includes Asio: timers, a descriptor becoming readable,
// signals, and work posted from other threads. Every callback runs on the thread that calls
// Run, and only when what it waits for happened: a wait cancelled (Cancel, the waiter
// destroyed, Stop) calls nothing.
#pragma once

#include <chrono>
#include <functional>
#include <initializer_list>
#include <cstdint>
#include <memory>

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace utmpcd {

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs callbacks until Stop (or until there is nothing left to wait for).
  void Run();
  // Runs callbacks until Stop, waiting for work posted when there is nothing else (a worker's
  // loop).
  void RunUntilStopped();
  // Thread-safe: Run returns soon; callbacks not yet run are not run.
  void Stop();
  bool stopped() const;
  // Thread-safe: `fn` runs on the loop's thread.
  void Post(std::function<void()> fn);

  // For src/net: what its sockets run on.
  boost::asio::io_context& io() { return *io_; }

 private:
  std::unique_ptr<boost::asio::io_context> io_;
};

// A one-shot timer. Destroy it (or Cancel) before the loop.
class Timer {
 public:
  explicit Timer(EventLoop& loop);
  ~Timer();
  // `fn` runs after `delay`; an earlier After of this timer is cancelled.
  void After(std::chrono::steady_clock::duration delay, std::function<void()> fn);
  void Cancel();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Waits for a descriptor to become readable. It watches a duplicate of `fd`: the caller keeps
// and closes its own.
class ReadableWait {
 public:
  ReadableWait(EventLoop& loop, int fd);
  ~ReadableWait();
  // `fn` runs once, when the descriptor is readable (call Wait again for the next time).
  void Wait(std::function<void()> fn);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Catches signals (as long as it lives) and hands them to the loop.
class SignalWait {
 public:
  SignalWait(EventLoop& loop, std::initializer_list<int> signals);
  ~SignalWait();
  // `fn` runs once, with the next signal caught.
  void Wait(std::function<void(int)> fn);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace utmpcd
