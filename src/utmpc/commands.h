// The utmpc subcommands. Each takes the arguments after its name (argv[0] is the name) and
// returns the process exit status; each prints its own errors.
#pragma once

#include <string_view>

namespace utmpcd {

int RunLast(int argc, char** argv, bool lastb);
int RunWho(int argc, char** argv);
int RunLastlog(int argc, char** argv);
int RunDump(int argc, char** argv);
// utmpc wtmpdb last: a wtmpdb database's sessions as `wtmpdb last` prints them; and the same
// for utmpc last --database FILE when FILE is a wtmpdb database (`database`), or for utmpc last
// on a host whose history is wtmpdb's (no wtmp, no utmpcd history: `database` nullptr).
int RunWtmpdb(int argc, char** argv);
// utmpc lastlog2: lastlog2's database (formats/lastlog2.h) as util-linux lastlog2 prints it.
int RunLastlog2(int argc, char** argv);
int RunWtmpdbLast(int argc, char** argv, const char* database);
// utmpc ping / summary / discover: utmpcd hosts asked over UDP (udp_cmd.cc).
int RunPing(int argc, char** argv);
int RunSummary(int argc, char** argv);
int RunDiscover(int argc, char** argv);
int RunW(int argc, char** argv);
int RunUptime(int argc, char** argv);
// utmpc watch HOST...: follows the hosts' event streams until killed.
int RunWatch(int argc, char** argv);

// Whether `command` (who, w, last, lastb, lastlog, uptime) is asked of hosts over the network:
// an argument names a host (@HOST; for uptime any operand) or --hosts-file is given.
bool WantsNetwork(std::string_view command, int argc, char** argv);
// Runs the network form of `command` (see net_commands.h).
int RunNet(std::string_view command, int argc, char** argv);

}  // namespace utmpcd
