// The network forms of the utmpc subcommands (commands.h dispatches to them). Each takes the
// arguments after its name and returns the exit status: 1 when any host failed.
#pragma once

namespace utmpcd {

int RunNetWho(int argc, char** argv);
int RunNetW(int argc, char** argv);
int RunNetUptime(int argc, char** argv);
int RunNetLastlog(int argc, char** argv);
int RunNetLast(int argc, char** argv, bool lastb);

}  // namespace utmpcd
