// utmpsd: the fleet server (port 430). Follows the event streams of many utmpcd hosts into one
// fleet-wide history (PostgreSQL, or SQLite for a few hosts) and answers for the whole fleet.
#include <sys/resource.h>
#include <sys/stat.h>

#include <clocale>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/log.h"
#include "core/version.h"
#include "net/config_toml.h"
#include "net/digest.h"
#include "net/notify.h"
#include "net/privileges.h"
#include "store/fleet_store.h"
#include "utmpsd/config.h"
#include "utmpsd/fleet_server.h"

namespace {

constexpr char kDefaultConfig[] = "/etc/utmpsd/utmpsd.toml";

}  // namespace

int main(int argc, char** argv) {
  std::setlocale(LC_ALL, "C");
  utmpcd::SetLogProgram("utmpsd");
  ::umask(027);
  if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  CLI::App app{"utmpsd: who is logged in on every host of a fleet, and who was (port 430)",
               "utmpsd"};
  std::string config_path, store, instance, hosts_file, user;
  std::vector<std::string> listen;
  bool debug = false, check = false, hash_token = false;
  auto* config_opt = app.add_option(
      "-c,--config", config_path, std::string("configuration file (default ") + kDefaultConfig + ")");
  app.add_option("--store", store,
                 "the fleet store: postgresql://... or a SQLite file (overrides [store] url)");
  app.add_option("--listen", listen,
                 "ADDRESS:PORT to serve port 430's API on, repeatable (overrides [server] listen)");
  app.add_option("--instance", instance,
                 "this instance's name among those sharing the store (overrides [server] "
                 "instance; default: the host name)");
  app.add_option("--hosts-file", hosts_file,
                 "the hosts to follow, one a line (overrides [follow] hosts_file)");
  app.add_option("--user", user,
                 "run as this user once port 430 is bound (overrides [server] user; \"root\": "
                 "stay root)");
  app.add_flag("--check", check,
               "check the configuration and the hosts file, reach the store (making or "
               "migrating its schema), and exit: 0 when all is well");
  app.add_flag("--debug", debug, "log more");
  app.add_flag("--hash-token", hash_token,
               "print the token_sha256 of an [[access]] rule for the token read from standard "
               "input, and exit");
  app.set_version_flag("--version", std::string("utmpsd ") + utmpcd::kVersion);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "utmpsd: %s (utmpsd --help lists the options)\n", e.what());
    return 2;
  }
  if (hash_token) {
    std::string token;
    std::getline(std::cin, token);
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
    token.erase(0, std::min(token.size(), token.find_first_not_of(' ')));
    if (token.empty()) {
      std::fprintf(stderr, "utmpsd: --hash-token: no token on standard input\n");
      return 2;
    }
    std::printf("%s\n", utmpcd::Sha256Hex(token).c_str());
    return 0;
  }
  for (const std::string& address : listen) {
    if (auto ok = utmpcd::CheckListenAddress(address); !ok) {
      std::fprintf(stderr, "utmpsd: --listen: %s\n", ok.error().message.c_str());
      return 2;
    }
  }
  bool named = config_opt->count() > 0;
  if (!named) config_path = kDefaultConfig;
  // What the command line says wins over the file, now and at each SIGHUP.
  auto overrides = [=](utmpcd::FleetConfig& c) {
    if (!store.empty()) c.store_url = store;
    if (!listen.empty()) c.listen = listen;
    if (!instance.empty()) c.instance = instance;
    if (!user.empty()) c.user = user;
    c.debug = c.debug || debug;
  };
  auto config = utmpcd::LoadFleetConfig(config_path, named, hosts_file);
  if (!config) {
    std::fprintf(stderr, "utmpsd: %s\n", config.error().message.c_str());
    return 2;
  }
  overrides(*config);
  utmpcd::SetLogDebug(config->debug);

  if (check) {
    auto opened = utmpcd::FleetStore::Open(config->store_url);
    if (!opened) {
      std::fprintf(stderr, "utmpsd: %s\n", opened.error().message.c_str());
      return 1;
    }
    std::printf("utmpsd: configuration %s is good: %zu host(s), store %s (%s), instance '%s'\n",
                std::filesystem::exists(config_path) ? config_path.c_str() : "(defaults)",
                config->hosts.size(), (*opened)->name().c_str(), (*opened)->kind(),
                config->instance.c_str());
    return 0;
  }

  try {
    utmpcd::ListenFds fds = utmpcd::TakeListenFds();
    auto server = utmpcd::FleetServer::Open(utmpcd::FleetServerOptions{
        .config = *config,
        .inherited_fds = fds.stream,
        .version = utmpcd::kVersion,
        .overrides = overrides,
        .hosts_file = hosts_file});
    if (!server) {
      utmpcd::Log(utmpcd::LogLevel::kError, "{}", server.error().message);
      return 1;
    }
    // Port 430 is bound and the store open: root is no longer needed.
    if (::geteuid() == 0 && config->user != "root") {
      if (auto dropped = utmpcd::DropPrivileges(config->user, {}); !dropped) {
        utmpcd::Log(utmpcd::LogLevel::kError, "{}", dropped.error().message);
        return 1;
      }
    } else if (auto dropped = utmpcd::DropCapabilities(); !dropped) {
      utmpcd::Log(utmpcd::LogLevel::kError, "{}", dropped.error().message);
      return 1;
    }
    (*server)->Run(config_path, named, [] { utmpcd::NotifyReady(); });
    utmpcd::NotifyStopping();
    return 0;
  } catch (const std::exception& e) {
    utmpcd::Log(utmpcd::LogLevel::kError, "{}", e.what());
    return 1;
  }
}
