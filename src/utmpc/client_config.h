// utmpc's configuration file: the hosts a user asks, by short names and in groups, and the
// credentials to ask them with, so that `utmpc who @prod` asks every host of the group prod.
// Read from $UTMPC_CONFIG when set, else /etc/utmpc/config.toml and then
// ~/.config/utmpc/config.toml ($XDG_CONFIG_HOME/utmpc/config.toml), the user's over the
// system's:
//
//   tls = true                          # every host over TLS (as --tls)
//   cacert = "/etc/utmpc/ca.pem"        # as --cacert
//   cert = "~/.config/utmpc/me.pem"     # as --cert and --key
//   key = "~/.config/utmpc/me.key"
//   token = "..."                       # as --token; only in a file no one else may read
//
//   [hosts]
//   web1 = "https://web1.example.org"   # @web1 asks this, and is called web1
//   db1 = "10.0.0.5:4310"
//
//   [groups]
//   prod = ["web1", "db1", "web3.example.org"]   # @prod asks these; groups may name groups
//
// A host or a group may have credentials of its own, as a table:
//
//   [hosts.db2]
//   url = "https://db2.example.org"
//   token = "..."                       # this host's; only in a file no one else may read
//
//   [groups.lab]
//   hosts = ["lab1", "lab2"]
//   cacert = "/etc/utmpc/lab-ca.pem"    # tls, cacert, cert, key, token
//
// A host asked takes each setting from the nearest place that has it: its own entry, then the
// innermost group it was named through, then the outer groups, then the top of the file. The
// command line ($UTMPC_TOKEN, --token, --tls, --cacert, --cert, --key) wins over the file.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "net/hosts.h"
#include "net/tls.h"

namespace utmpcd {

// A host's or a group's own settings (unset: from further out).
struct Credentials {
  std::optional<bool> tls;
  std::optional<std::string> ca_file, certificate, key, token;
};

struct ClientConfig {
  std::optional<bool> tls;
  TlsClientFiles files;  // cacert, cert, key ("" when not set)
  std::string token;
  std::map<std::string, std::string> hosts;                // name -> HOST[:PORT] or URL
  std::map<std::string, std::vector<std::string>> groups;  // name -> host or group names
  std::map<std::string, Credentials> host_credentials;     // [hosts.NAME] tables
  std::map<std::string, Credentials> group_credentials;    // [groups.NAME] tables
  int tokens = 0;  // tokens read (a file holding one must be the user's alone)
};

// Parses `text` over `config` (the settings it has replace those of `config`); `origin` names
// it in errors ("config.toml:3:7: ..."); `home` expands a leading "~/" in paths. Unknown keys,
// wrong types and hosts that do not parse are errors.
Result<void> ParseClientConfig(std::string_view text, std::string_view origin,
                               const std::string& home, ClientConfig* config);

// Reads the files above (a missing one is no error). Fails naming the file, line and column of
// the first mistake, or a file holding a token that others may read.
Result<ClientConfig> LoadClientConfig();

// The hosts `name` (an operand without its '@') stands for: a group's hosts, in order; a
// [hosts] entry, labelled `name`; else `name` itself as HOST[:PORT] or URL. A group that names
// itself, directly or not, is an error.
Result<std::vector<NetHost>> ExpandHost(const ClientConfig& config, std::string_view name);

}  // namespace utmpcd
