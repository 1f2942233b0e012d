// OpenSSL contexts made from TlsServerFiles and TlsClientFiles, and what server and client
// connections do with them. For src/net only (it includes Asio's SSL support).
#pragma once

#include <utility>  // before Asio: Boost 1.74 needs it with g++ 12

#include <boost/asio/ssl.hpp>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "core/result.h"
#include "net/tls.h"

namespace utmpcd {

using TlsContext = boost::asio::ssl::context;

// TLS 1.2 or newer, the certificate and key (which must match), client certificates verified
// against `client_ca` when set, session resumption by tickets and a session cache. Fails
// naming the file and what is wrong with it.
Result<std::shared_ptr<TlsContext>> MakeServerTlsContext(const TlsServerFiles& files);

// TLS 1.2 or newer, the server's certificate verified against `ca_file` (the system's CAs
// when empty), a client certificate when set.
Result<std::shared_ptr<TlsContext>> MakeClientTlsContext(const TlsClientFiles& files);

// Client contexts by the files they are made from: hosts that share their credentials share a
// context (and its session cache); a failure is kept and given again.
class ClientTlsContexts {
 public:
  const Result<std::shared_ptr<TlsContext>>& For(const TlsClientFiles& files);

 private:
  std::map<std::tuple<std::string, std::string, std::string>,
           Result<std::shared_ptr<TlsContext>>>
      made_;
};

// Before a client's handshake: the name to send (SNI) and to find in the server's certificate
// (a DNS name, or an IP address literal matched against its IP addresses).
Result<void> ExpectServerName(SSL* ssl, const std::string& name);

// The verified peer certificate's subject in RFC 4514 form ("CN=a,O=b"); "" when the peer
// sent none (or it did not verify).
std::string VerifiedSubject(SSL* ssl);

// Why a handshake failed, in words: "TLS: certificate has expired", "TLS: hostname mismatch"
// (the verify result when that was the cause), else the OpenSSL reason.
std::string DescribeTlsFailure(SSL* ssl, const boost::system::error_code& ec);

}  // namespace utmpcd
