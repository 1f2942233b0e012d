// The utmpc subcommands. Each takes the arguments after its name (argv[0] is the name) and
// returns the process exit status; each prints its own errors.
#pragma once

namespace utmpcd {

int RunLast(int argc, char** argv, bool lastb);
int RunWho(int argc, char** argv);
int RunLastlog(int argc, char** argv);
int RunDump(int argc, char** argv);

}  // namespace utmpcd
