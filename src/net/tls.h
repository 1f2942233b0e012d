// TLS on port 431 (and 430), through OpenSSL: what a server and a client are configured with.
// The contexts and connections made from them are net's own (net/tls_internal.h); nothing
// above net sees OpenSSL, and a TLS connection is one more kind of Connection.
#pragma once

#include <string>
#include <vector>

#include "api/access.h"

namespace utmpcd {

// A server's TLS ([tls] in utmpcd.toml): PEM files, read at start and again on SIGHUP.
struct TlsServerFiles {
  std::string certificate;  // the certificate, then the intermediates it needs
  std::string key;          // its private key (unencrypted)
  // CAs whose client certificates are accepted (mutual TLS); "" asks for none. A client that
  // presents none is still served, by its other credentials; one whose certificate does not
  // verify is refused in the handshake.
  std::string client_ca;
};

struct TlsServerOptions {
  TlsServerFiles files;
  // TCP clients from these networks may also speak plain HTTP on the same port; every other
  // client must speak TLS (a plain request gets a 400 saying so).
  std::vector<Network> plaintext_from;
};

// A client's TLS (`utmpc --cacert/--cert/--key`, utmpsd's hosts).
struct TlsClientFiles {
  std::string ca_file;      // trusted CAs (PEM); "" trusts the system's (/etc/ssl/certs)
  std::string certificate;  // a client certificate for mutual TLS ("" for none)
  std::string key;          // its key ("" when it is in `certificate`)
};

}  // namespace utmpcd
