#include <utility>  // before Asio: Boost 1.74 needs it with g++ 12

#include "net/event_loop.h"

#include <unistd.h>

#include <boost/asio.hpp>

namespace utmpcd {

namespace asio = boost::asio;
using boost::system::error_code;

// Concurrency hint 1: one thread runs the loop (others only post to it).
EventLoop::EventLoop() : io_(std::make_unique<asio::io_context>(1)) {}
EventLoop::~EventLoop() = default;
void EventLoop::Run() { io_->run(); }
void EventLoop::RunUntilStopped() {
  auto work = asio::make_work_guard(*io_);
  io_->run();
}
void EventLoop::Stop() { io_->stop(); }
bool EventLoop::stopped() const { return io_->stopped(); }
void EventLoop::Post(std::function<void()> fn) { asio::post(*io_, std::move(fn)); }

// A wait that already completed is queued and cannot be cancelled: each handler holds its
// waiter weakly and the number of the wait it belongs to, and calls nothing once the waiter is
// gone or another wait (or a Cancel) came after it.
struct Timer::Impl {
  explicit Impl(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  uint64_t wait = 0;
};

Timer::Timer(EventLoop& loop) : impl_(std::make_shared<Impl>(loop.io())) {}
Timer::~Timer() = default;

void Timer::After(std::chrono::steady_clock::duration delay, std::function<void()> fn) {
  uint64_t wait = ++impl_->wait;
  impl_->timer.expires_after(delay);
  impl_->timer.async_wait(
      [weak = std::weak_ptr<Impl>(impl_), wait, fn = std::move(fn)](const error_code& ec) {
        auto impl = weak.lock();
        if (!ec && impl && impl->wait == wait) fn();
      });
}

void Timer::Cancel() {
  ++impl_->wait;
  impl_->timer.cancel();
}

struct ReadableWait::Impl {
  Impl(asio::io_context& io, int fd) : descriptor(io, ::dup(fd)) {}
  asio::posix::stream_descriptor descriptor;
};

ReadableWait::ReadableWait(EventLoop& loop, int fd)
    : impl_(std::make_shared<Impl>(loop.io(), fd)) {}
ReadableWait::~ReadableWait() = default;

void ReadableWait::Wait(std::function<void()> fn) {
  impl_->descriptor.async_wait(
      asio::posix::descriptor_base::wait_read,
      [weak = std::weak_ptr<Impl>(impl_), fn = std::move(fn)](const error_code& ec) {
        if (!ec && weak.lock()) fn();
      });
}

struct SignalWait::Impl {
  explicit Impl(asio::io_context& io) : signals(io) {}
  asio::signal_set signals;
};

SignalWait::SignalWait(EventLoop& loop, std::initializer_list<int> signals)
    : impl_(std::make_shared<Impl>(loop.io())) {
  for (int signal : signals) impl_->signals.add(signal);
}
SignalWait::~SignalWait() = default;

void SignalWait::Wait(std::function<void(int)> fn) {
  impl_->signals.async_wait(
      [weak = std::weak_ptr<Impl>(impl_), fn = std::move(fn)](const error_code& ec, int signal) {
        if (!ec && weak.lock()) fn(signal);
      });
}

}  // namespace utmpcd
