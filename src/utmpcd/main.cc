// utmpcd: the host daemon. Follows wtmp and btmp into a SQLite history, exactly once.
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
#include "formats/utmp.h"
#include "net/digest.h"
#include "utmpcd/config.h"
#include "utmpcd/daemon.h"

namespace {

constexpr char kDefaultConfig[] = "/etc/utmpcd/utmpcd.toml";

}  // namespace

int main(int argc, char** argv) {
  std::setlocale(LC_ALL, "C");
  // Login history is personal data: what the daemon creates (the database, its directory) is
  // readable by its owner and group only.
  ::umask(027);
  // Every HTTP connection and event stream is a descriptor: allow as many as the hard limit
  // (systemd and login shells start services with a soft limit of 1024).
  if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  CLI::App app{"utmpcd: who is logged in on this host, and who was (port 431)", "utmpcd"};
  std::string config_path, database, wtmp, btmp, utmp, lastlog, layout, ingest_socket, wtmpdb;
  std::string history_source, failed_source, journal_directory, lastlog2;
  std::vector<std::string> http_listen, udp_listen, finger_listen;
  std::string api_socket, user;
  bool once = false, debug = false, hash_token = false;
  auto* config_opt = app.add_option("-c,--config", config_path,
                                    std::string("configuration file (default ") + kDefaultConfig + ")");
  app.add_option("--database", database, "history database (overrides [store] database)");
  app.add_option("--wtmp", wtmp, "wtmp to follow (overrides [files] wtmp)");
  app.add_option("--btmp", btmp, "btmp to follow (overrides [files] btmp)");
  app.add_option("--wtmpdb", wtmpdb, "wtmpdb's database to follow (overrides [files] wtmpdb)");
  app.add_option("--history-source", history_source,
                 "where the history comes from: auto, wtmp, wtmpdb or both (overrides "
                 "[sources] history)")
      ->check(CLI::IsMember({"auto", "wtmp", "wtmpdb", "both"}));
  app.add_option("--failed-source", failed_source,
                 "where failed logins come from: auto, btmp, journal, both or none (overrides "
                 "[sources] failed)")
      ->check(CLI::IsMember({"auto", "btmp", "journal", "both", "none"}));
  app.add_option("--journal-directory", journal_directory,
                 "journal files to read failed logins from instead of the system journal "
                 "(overrides [sources] journal_directory)");
  app.add_option("--utmp", utmp, "utmp to watch for live sessions (overrides [files] utmp)");
  app.add_option("--lastlog", lastlog, "lastlog to import on the first start ([files] lastlog)");
  app.add_option("--lastlog2", lastlog2,
                 "lastlog2's database to import on the first start ([files] lastlog2)");
  app.add_option("--ingest-socket", ingest_socket,
                 "socket pam_utmpcd.so reports to (overrides [ingest] socket; \"none\": off)");
  app.add_option("--http-listen", http_listen,
                 "ADDRESS:PORT to serve HTTP on, repeatable (overrides [http] listen; \"none\": "
                 "off)");
  app.add_option("--udp-listen", udp_listen,
                 "ADDRESS:PORT to answer UDP datagrams on, repeatable (overrides [udp] listen; "
                 "\"none\": off; off by default when --http-listen is given)");
  app.add_option("--finger-listen", finger_listen,
                 "ADDRESS:PORT to answer finger (RFC 1288) queries on, repeatable (overrides "
                 "[finger] listen; \"none\": off, the default)");
  app.add_option("--api-socket", api_socket,
                 "Unix socket serving the API to local clients (overrides [http] socket; "
                 "\"none\": off; off by default when --http-listen is given)");
  app.add_option("--user", user,
                 "run as this user once port 431 and the sockets are open (overrides [daemon] "
                 "user; \"root\": stay root)");
  app.add_option("--layout", layout, "record layout, 384 or 400 (default: this machine's)");
  app.add_flag("--once", once, "store what the files hold now, then exit (an import)");
  app.add_flag("--debug", debug, "log every stored batch");
  app.add_flag("--hash-token", hash_token,
               "print the token_sha256 of an [[access]] rule for the token read from standard "
               "input, and exit");
  app.set_version_flag("--version", std::string("utmpcd ") + utmpcd::kVersion);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One prefix and one status for every usage error, as for a bad configuration.
    std::fprintf(stderr, "utmpcd: %s (utmpcd --help lists the options)\n", e.what());
    return 2;
  }
  if (hash_token) {
    // The token is the first line of standard input, without its newline (echo, a file).
    std::string token;
    std::getline(std::cin, token);
    // As the daemon reads "Authorization: Bearer TOKEN": without the spaces around it.
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
    token.erase(0, token.find_first_not_of(' ') == std::string::npos ? token.size()
                                                                      : token.find_first_not_of(' '));
    if (token.empty()) {
      std::fprintf(stderr, "utmpcd: --hash-token: no token on standard input\n");
      return 2;
    }
    std::printf("%s\n", utmpcd::Sha256Hex(token).c_str());
    return 0;
  }
  for (const std::vector<std::string>* listen : {&http_listen, &udp_listen, &finger_listen}) {
    for (const std::string& address : *listen) {
      if (address == "none") continue;
      if (auto ok = utmpcd::CheckListenAddress(address); !ok) {
        std::fprintf(stderr, "utmpcd: %s: %s\n",
                     listen == &http_listen  ? "--http-listen"
                     : listen == &udp_listen ? "--udp-listen"
                                             : "--finger-listen",
                     ok.error().message.c_str());
        return 2;
      }
    }
  }

  bool named = config_opt->count() > 0;
  if (!named) config_path = kDefaultConfig;
  auto config = utmpcd::LoadConfig(config_path, named);
  if (!config) {
    std::fprintf(stderr, "utmpcd: %s\n", config.error().message.c_str());
    return 2;
  }
  if (!database.empty()) config->database = database;
  if (!wtmp.empty()) config->wtmp = wtmp;
  if (!btmp.empty()) config->btmp = btmp;
  if (!wtmpdb.empty()) config->wtmpdb = wtmpdb;
  if (!history_source.empty()) config->history_source = history_source;
  if (!failed_source.empty()) config->failed_source = failed_source;
  if (!journal_directory.empty()) config->journal_directory = journal_directory;
  if (!utmp.empty()) config->utmp = utmp;
  if (!lastlog.empty()) config->lastlog = lastlog;
  if (!lastlog2.empty()) config->lastlog2 = lastlog2;
  if (!ingest_socket.empty()) config->ingest_socket = ingest_socket == "none" ? "" : ingest_socket;
  if (!http_listen.empty()) {
    // Listeners named on the command line replace the configured ones, the socket included.
    if (http_listen.size() == 1 && http_listen[0] == "none") http_listen.clear();
    config->http_listen = http_listen;
    config->api_socket.clear();
    config->udp_listen.clear();
  }
  if (!udp_listen.empty()) {
    if (udp_listen.size() == 1 && udp_listen[0] == "none") udp_listen.clear();
    config->udp_listen = udp_listen;
  }
  if (!finger_listen.empty()) {
    if (finger_listen.size() == 1 && finger_listen[0] == "none") finger_listen.clear();
    config->finger_listen = finger_listen;
  }
  if (!user.empty()) config->user = user;
  if (!api_socket.empty()) config->api_socket = api_socket == "none" ? "" : api_socket;
  if (!layout.empty()) {
    config->layout = utmpcd::ParseLayout(layout);
    if (!config->layout) {
      std::fprintf(stderr, "utmpcd: --layout must be 384 or 400, not '%s'\n", layout.c_str());
      return 2;
    }
  }
  if (once) {  // an import serves nothing
    config->once = true;
    config->http_listen.clear();
    config->api_socket.clear();
    config->udp_listen.clear();
    config->finger_listen.clear();
    config->ingest_socket.clear();
  }
  config->debug = config->debug || debug;
  config->debug_forced = debug;
  utmpcd::SetLogDebug(config->debug);

  try {
    utmpcd::Daemon daemon(*config, named || std::filesystem::exists(config_path) ? config_path : "");
    if (auto started = daemon.Start(); !started) {
      utmpcd::Log(utmpcd::LogLevel::kError, "{}", started.error().message);
      return 1;
    }
    return once ? daemon.FinishImport() : daemon.Run();
  } catch (const std::exception& e) {
    utmpcd::Log(utmpcd::LogLevel::kError, "{}", e.what());
    return 1;
  }
}
