// A receive-only UDP socket on an EventLoop: each datagram (up to 2 KiB; a larger one arrives
// cut, flagged) is handed over with the peer it came from. Nothing is ever sent back. What
// utmpsd's rwho intake (UDP 513) listens with; the datagrams' meaning is the caller's.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "net/udp_address.h"

namespace utmpcd {

class EventLoop;

class DatagramReceiver {
 public:
  // `truncated`: the datagram was larger than the buffer (its first 2 KiB are given).
  using Handler =
      std::function<void(std::span<const uint8_t> datagram, const IpEndpoint& peer, bool truncated)>;

  // Binds each of `listen` ("0.0.0.0:513", "[::]", a port of `default_port` when none is
  // given; numeric addresses only). An IPv6 address on a host without IPv6 is skipped with a
  // warning; any other failure is an error naming the address. Receiving starts at once.
  static Result<std::unique_ptr<DatagramReceiver>> Open(EventLoop& loop,
                                                        const std::vector<std::string>& listen,
                                                        uint16_t default_port, Handler handler);
  ~DatagramReceiver();
  DatagramReceiver(const DatagramReceiver&) = delete;
  DatagramReceiver& operator=(const DatagramReceiver&) = delete;

  // "0.0.0.0:513", as bound.
  std::vector<std::string> endpoints() const;

  class Impl;

 private:
  explicit DatagramReceiver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace utmpcd
