// SHA-256 (OpenSSL's, through the network layer: no other folder includes OpenSSL), for bearer
// tokens, which utmpcd stores and compares only hashed.
#pragma once

#include <string>
#include <string_view>

namespace utmpcd {

// The SHA-256 of `bytes` as 64 lowercase hex digits.
std::string Sha256Hex(std::string_view bytes);

}  // namespace utmpcd
