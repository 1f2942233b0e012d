#include "net/tls_internal.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace utmpcd {
namespace {

namespace ssl = boost::asio::ssl;

// The reason of the first error in OpenSSL's queue, emptying it: the cause ("no start line",
// "key values mismatch"), not what failed because of it ("PEM lib").
std::string OpenSslReason() {
  unsigned long code = ERR_peek_error();
  ERR_clear_error();
  if (code == 0) return "unknown error";
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : "error " + std::to_string(code);
}

Result<void> Readable(const std::string& what, const std::string& path) {
  if (::access(path.c_str(), R_OK) != 0) return tl::unexpected(ErrnoError(what + " " + path, errno));
  return {};
}

Error FileError(const std::string& what, const std::string& path) {
  return Error{ErrorCode::kInvalidArgument, what + " " + path + ": " + OpenSslReason()};
}

// No password is asked for: a daemon has no one to ask, and waiting for a terminal would hold
// the API's thread.
int NoPassword(char*, int, int, void*) { return 0; }

// TLS 1.2 and 1.3 only, no renegotiation.
void Common(SSL_CTX* c) {
  SSL_CTX_set_default_passwd_cb(c, NoPassword);
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);  // an idle stream holds no record buffers
}

Result<void> UseCertificate(SSL_CTX* c, const std::string& certificate, const std::string& key) {
  if (auto ok = Readable("certificate", certificate); !ok) return ok;
  if (auto ok = Readable("key", key); !ok) return ok;
  if (SSL_CTX_use_certificate_chain_file(c, certificate.c_str()) != 1) {
    return tl::unexpected(FileError("certificate", certificate));
  }
  if (SSL_CTX_use_PrivateKey_file(c, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    Error error = FileError("key", key);
    std::ifstream in(key);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.find("ENCRYPTED") != std::string::npos) {
      error.message += " (an encrypted key: give it unencrypted, readable only by its user)";
    }
    return tl::unexpected(std::move(error));
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    ERR_clear_error();
    return MakeError(ErrorCode::kInvalidArgument,
                     "key " + key + " does not belong to certificate " + certificate);
  }
  return {};
}

}  // namespace

Result<std::shared_ptr<TlsContext>> MakeServerTlsContext(const TlsServerFiles& files) {
  ERR_clear_error();  // what a failure says is this call's, not a connection's before
  auto context = std::make_shared<TlsContext>(TlsContext::tls_server);
  SSL_CTX* c = context->native_handle();
  Common(c);
  SSL_CTX_set_options(c, SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (auto ok = UseCertificate(c, files.certificate, files.key); !ok) {
    return tl::unexpected(ok.error());
  }
  if (!files.client_ca.empty()) {
    if (auto ok = Readable("client CA", files.client_ca); !ok) return tl::unexpected(ok.error());
    if (SSL_CTX_load_verify_locations(c, files.client_ca.c_str(), nullptr) != 1) {
      return tl::unexpected(FileError("client CA", files.client_ca));
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca.c_str());
    if (names == nullptr) return tl::unexpected(FileError("client CA", files.client_ca));
    SSL_CTX_set_client_CA_list(c, names);
    // Asked for, not required: a client without one is served by its other credentials. One
    // that does not verify fails the handshake.
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
  }
  // Resumption: tickets (TLS 1.3 and 1.2) and the server's cache, which needs an id context
  // when client certificates are verified.
  static const unsigned char kId[] = "utmpcd";
  SSL_CTX_set_session_id_context(c, kId, sizeof kId - 1);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
  return context;
}

Result<std::shared_ptr<TlsContext>> MakeClientTlsContext(const TlsClientFiles& files) {
  ERR_clear_error();
  auto context = std::make_shared<TlsContext>(TlsContext::tls_client);
  SSL_CTX* c = context->native_handle();
  Common(c);
  if (files.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(c) != 1) {
      return MakeError(ErrorCode::kIo, "the system's CA certificates: " + OpenSslReason());
    }
  } else {
    if (auto ok = Readable("CA file", files.ca_file); !ok) return tl::unexpected(ok.error());
    if (SSL_CTX_load_verify_locations(c, files.ca_file.c_str(), nullptr) != 1) {
      return tl::unexpected(FileError("CA file", files.ca_file));
    }
  }
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
  if (!files.certificate.empty()) {
    const std::string& key = files.key.empty() ? files.certificate : files.key;
    if (auto ok = UseCertificate(c, files.certificate, key); !ok) return tl::unexpected(ok.error());
  } else if (!files.key.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "a key without a certificate");
  }
  return context;
}

Result<void> ExpectServerName(SSL* ssl, const std::string& name) {
  unsigned char address[16];
  const std::string bare = name.substr(0, name.find('%'));  // fe80::1%eth0: the address
  bool literal = ::inet_pton(AF_INET, bare.c_str(), address) == 1 ||
                 ::inet_pton(AF_INET6, bare.c_str(), address) == 1;
  if (literal) {
    // No SNI for an address (RFC 6066); the certificate must name it as an IP address.
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), bare.c_str()) != 1) {
      return MakeError(ErrorCode::kInvalidArgument, name + ": " + OpenSslReason());
    }
    return {};
  }
  if (SSL_set_tlsext_host_name(ssl, name.c_str()) != 1 || SSL_set1_host(ssl, name.c_str()) != 1) {
    return MakeError(ErrorCode::kInvalidArgument, name + ": " + OpenSslReason());
  }
  return {};
}

std::string VerifiedSubject(SSL* ssl) {
  X509* certificate = SSL_get0_peer_certificate(ssl);
  if (certificate == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return "";
  BIO* out = BIO_new(BIO_s_mem());
  if (out == nullptr) return "";
  std::string subject;
  if (X509_NAME_print_ex(out, X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253) >= 0) {
    char* data = nullptr;
    long size = BIO_get_mem_data(out, &data);
    if (size > 0) subject.assign(data, static_cast<size_t>(size));
  }
  BIO_free(out);
  return subject;
}

std::string DescribeTlsFailure(SSL* ssl, const boost::system::error_code& ec) {
  if (ssl != nullptr) {
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
      return std::string("TLS: ") + X509_verify_cert_error_string(verify);
    }
  }
  if (ec == ssl::error::stream_truncated || ec == boost::asio::error::eof) {
    return "TLS: the connection closed during the handshake";
  }
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    return std::string("TLS: ") + (reason != nullptr ? reason : ec.message());
  }
  return "TLS: " + ec.message();
}

const Result<std::shared_ptr<TlsContext>>& ClientTlsContexts::For(const TlsClientFiles& files) {
  auto key = std::make_tuple(files.ca_file, files.certificate, files.key);
  auto it = made_.find(key);
  if (it == made_.end()) it = made_.emplace(key, MakeClientTlsContext(files)).first;
  return it->second;
}

}  // namespace utmpcd
