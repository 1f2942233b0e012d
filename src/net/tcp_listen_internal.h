// Listening addresses of net's TCP servers (HTTP, finger): private to src/net.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "core/result.h"

namespace utmpcd {

// "[v6]:port" or "v4:port": an address to listen on (a name is not looked up).
Result<boost::asio::ip::tcp::endpoint> ParseEndpoint(const std::string& text);
// The other way: "127.0.0.1:79", "[::1]:79".
std::string EndpointText(const boost::asio::ip::tcp::endpoint& e);
// A listening socket on `text` (SO_REUSEADDR; an IPv6 one IPv6-only); nullptr, with a warning
// naming `what` ("HTTP", "finger"), for an IPv6 address on a host without IPv6. An error says
// `what`, the address and why.
Result<std::unique_ptr<boost::asio::ip::tcp::acceptor>> OpenAcceptor(boost::asio::io_context& io,
                                                                     const std::string& text,
                                                                     const char* what);

}  // namespace utmpcd
