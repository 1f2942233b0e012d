// utmpc: who is logged in, and who was, from login records.
#include <algorithm>
#include <clocale>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "core/version.h"
#include "utmpc/client_config.h"
#include "utmpc/commands.h"
#include "utmpc/usage.h"

namespace {

void Usage(FILE* out) {
  std::fputs(
      "Usage: utmpc <command> [options]\n\n"
      "Commands:\n"
      "  last     sessions from wtmp, as util-linux last(1)\n"
      "  lastb    failed logins from btmp, as util-linux lastb(1)\n"
      "  who      who is logged in now (from utmpcd, else utmp), as coreutils who(1)\n"
      "  lastlog  the last login of each user, as shadow lastlog(8)\n"
      "  dump     every record of a utmp/wtmp/btmp file, as util-linux utmpdump(1)\n"
      "  wtmpdb   wtmpdb last: the sessions of a wtmpdb database, as wtmpdb(8) prints them\n"
      "  lastlog2 each user's last login from lastlog2's database, as lastlog2(8)\n"
      "  ping     round-trip times to utmpcd hosts over UDP (utmpc ping HOST...)\n"
      "  summary  host name, uptime, users and load of utmpcd hosts over UDP\n"
      "  discover utmpcd hosts on the LAN that answer a UDP broadcast\n"
      "  w        who is logged in and idle, with the uptime, as procps w(1)\n"
      "  uptime   how long the system has been up, as procps uptime(1)\n"
      "  watch    login events of hosts as they happen (utmpc watch HOST...)\n\n"
      "who, w, last, lastb, lastlog and uptime ask utmpcd hosts over the network when\n"
      "hosts are named: utmpc last @web1 @web2:4310 alice; utmpc uptime web1. who, last,\n"
      "lastb and watch ask a utmpsd fleet server for its hosts with --server URL.\n"
      "Run 'utmpc <command> --help' for a command's options; see utmpc(1).\n",
      out);
}

}  // namespace

int main(int argc, char** argv) {
  std::setlocale(LC_ALL, "");
  // Invoked as last, lastb, who, lastlog or utmpdump (a symlink), utmpc is that tool; under any
  // other name (utmpc, utmpc-0.1, ...) the first argument names the command.
  std::string_view self = argv[0];
  if (auto slash = self.rfind('/'); slash != std::string_view::npos) self.remove_prefix(slash + 1);
  const std::string_view invoked = self;
  // "utmpc --server URL COMMAND ...": the server is the command's option.
  std::vector<char*> moved;
  if (argc >= 4 && std::string_view(argv[1]) == "--server") {
    moved = {argv[0], argv[3], argv[1], argv[2]};
    moved.insert(moved.end(), argv + 4, argv + argc);
    moved.push_back(nullptr);
    argv = moved.data();
  } else if (argc >= 3 && std::string_view(argv[1]).starts_with("--server=")) {
    moved = {argv[0], argv[2], argv[1]};
    moved.insert(moved.end(), argv + 3, argv + argc);
    moved.push_back(nullptr);
    argv = moved.data();
  }
  int skip = 1;
  if (self == "last" || self == "lastb" || self == "who" || self == "lastlog") {
    skip = 0;
  } else if (self == "utmpdump") {
    skip = 0;
    self = "dump";
  } else if (argc < 2) {
    Usage(stderr);
    return utmpcd::kUsageError;
  } else {
    self = argv[1];
  }
  int sub_argc = argc - skip;
  char** sub_argv = argv + skip;
  // getopt_long begins its messages with argv[0]: "utmpc last: unrecognized option", as the
  // commands begin theirs (under a tool's own name, that name).
  std::string program = skip == 1 ? "utmpc " + std::string(self) : std::string(invoked);
  if (skip == 1) sub_argv[0] = program.data();
  try {
    if (self == "--complete-hosts") {
      // For bash completion (dist/bash-completion/utmpc): the names @NAME may take, one a line;
      // nothing when there is no configuration or it has a mistake.
      if (auto config = utmpcd::LoadClientConfig()) {
        for (const auto& [name, host] : config->hosts) std::printf("%s\n", name.c_str());
        for (const auto& [name, hosts] : config->groups) std::printf("%s\n", name.c_str());
      }
      return 0;
    }
    // `utmpc COMMAND --version` (alone: anywhere else it could be an option's value) for every
    // command, as `utmpc --version` and last's -V.
    static constexpr std::string_view kCommands[] = {
        "last", "lastb", "who", "lastlog", "dump", "wtmpdb", "lastlog2", "ping",
        "summary", "discover", "w", "uptime", "watch"};
    if (sub_argc == 2 && std::string_view(sub_argv[1]) == "--version" &&
        std::find(std::begin(kCommands), std::end(kCommands), self) != std::end(kCommands)) {
      std::printf("%s (utmpcd) %s\n", program.c_str(), utmpcd::kVersion);
      return 0;
    }
    if (utmpcd::WantsNetwork(self, sub_argc, sub_argv)) {
      return utmpcd::RunNet(self, sub_argc, sub_argv);
    }
    if (self == "w") return utmpcd::RunW(sub_argc, sub_argv);
    if (self == "uptime") return utmpcd::RunUptime(sub_argc, sub_argv);
    if (self == "watch") return utmpcd::RunWatch(sub_argc, sub_argv);
    if (self == "last") return utmpcd::RunLast(sub_argc, sub_argv, false);
    if (self == "lastb") return utmpcd::RunLast(sub_argc, sub_argv, true);
    if (self == "who") return utmpcd::RunWho(sub_argc, sub_argv);
    if (self == "lastlog") return utmpcd::RunLastlog(sub_argc, sub_argv);
    if (self == "dump") return utmpcd::RunDump(sub_argc, sub_argv);
    if (self == "wtmpdb") return utmpcd::RunWtmpdb(sub_argc, sub_argv);
    if (self == "lastlog2") return utmpcd::RunLastlog2(sub_argc, sub_argv);
    if (self == "ping") return utmpcd::RunPing(sub_argc, sub_argv);
    if (self == "summary") return utmpcd::RunSummary(sub_argc, sub_argv);
    if (self == "discover") return utmpcd::RunDiscover(sub_argc, sub_argv);
    if (self == "--version" || self == "-V") {
      std::printf("utmpc %s\n", utmpcd::kVersion);
      return 0;
    }
    if (self == "-h" || self == "--help" || self == "help") {
      Usage(stdout);
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program.c_str(), e.what());
    return 1;
  }
  std::fprintf(stderr, "utmpc: unknown command '%.*s'\n", static_cast<int>(self.size()),
               self.data());
  Usage(stderr);
  return utmpcd::kUsageError;
}
