#include "api/wire_decode.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "core/text.h"

namespace utmpcd {
namespace {

using Json = nlohmann::ordered_json;  // keeps the fields in the order the host sent them

Error Bad(std::string_view where, std::string_view what) {
  return Error{ErrorCode::kCorrupt, fmt::format("bad answer: {}: {}", where, what)};
}

Result<Json> Parse(std::string_view body) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return tl::unexpected(Bad("body", "not JSON"));
  return j;
}

// The object as compact JSON. The parser accepted only valid UTF-8, so nothing is replaced.
// nlohmann escapes only C0 controls: DEL and the C1 controls (U+0080 to U+009F, CSI among
// them) are escaped again as the daemon sent them, or `--json @host` would pass them to the
// terminal. Outside strings JSON is ASCII, so the bytes found are inside strings.
std::string Compact(const Json& j) {
  std::string dumped = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(dumped.size());
  for (size_t i = 0; i < dumped.size(); ++i) {
    auto c = static_cast<unsigned char>(dumped[i]);
    auto next = i + 1 < dumped.size() ? static_cast<unsigned char>(dumped[i + 1]) : 0;
    if (c == 0x7f || (c == 0xc2 && next >= 0x80 && next <= 0x9f)) {
      unsigned cp = c == 0x7f ? 0x7f : next;
      out += "\\u00";
      out += kHex[cp >> 4];
      out += kHex[cp & 15];
      if (c == 0xc2) ++i;
      continue;
    }
    out += static_cast<char>(c);
  }
  return out;
}

// Two hex digits a byte; nullopt for anything else.
std::optional<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string bytes;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes.push_back(static_cast<char>(hi * 16 + lo));
  }
  return bytes;
}

// An address as AddressText (formats/utmp.h) writes it: IPv4 in the first four bytes.
std::optional<std::array<uint8_t, 16>> ParseAddressBytes(const std::string& text) {
  std::array<uint8_t, 16> a{};
  if (::inet_pton(AF_INET, text.c_str(), a.data()) == 1) return a;
  if (::inet_pton(AF_INET6, text.c_str(), a.data()) == 1) return a;
  return std::nullopt;
}

// Reads the fields of one object, remembering the first that has the wrong type.
class Fields {
 public:
  Fields(const Json& object, std::string where) : o_(object), where_(std::move(where)) {
    if (!o_.is_object()) {
      error_where_ = where_.empty() ? "body" : where_;
      error_ = "not an object";
    }
  }

  std::string Text(const char* name) { return OptText(name).value_or(""); }
  // A text field of a login record: the bytes of "NAME_hex" when the daemon sent them (the
  // record's text was no valid UTF-8), else the string "NAME".
  std::string Bytes(const char* name) { return OptBytes(name).value_or(""); }
  std::optional<std::string> OptBytes(const char* name) {
    std::string hex_name = std::string(name) + "_hex";
    if (auto hex = OptText(hex_name.c_str())) {
      if (auto bytes = FromHex(*hex)) return bytes;
      Wrong(hex_name.c_str(), "not hex digits");
      return std::nullopt;
    }
    return OptText(name);
  }
  std::optional<std::string> OptText(const char* name) {
    const Json* v = Find(name);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) {
      Wrong(name, "not a string");
      return std::nullopt;
    }
    return v->get<std::string>();
  }
  int64_t Integer(const char* name) { return OptInteger(name).value_or(0); }
  std::optional<int64_t> OptInteger(const char* name) {
    const Json* v = Find(name);
    if (v == nullptr) return std::nullopt;
    if (v->is_number_unsigned() &&
        v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      Wrong(name, "out of range");
      return std::nullopt;
    }
    if (!v->is_number_integer()) {
      Wrong(name, "not an integer");
      return std::nullopt;
    }
    return v->get<int64_t>();
  }
  // The array `name`; nullptr (and an error) when it is missing or not an array.
  const Json* Array(const char* name) {
    const Json* v = Find(name);
    if (v == nullptr || !v->is_array()) {
      Wrong(name, "not an array");
      return nullptr;
    }
    return v;
  }

  Result<void> Done() const {
    if (!error_.empty()) return tl::unexpected(Bad(error_where_, error_));
    return {};
  }

 private:
  // The field, or nullptr when it is absent or null.
  const Json* Find(const char* name) const {
    if (!o_.is_object()) return nullptr;
    auto it = o_.find(name);
    if (it == o_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  void Wrong(const char* name, const char* what) {
    if (!error_.empty()) return;
    error_where_ = where_.empty() ? name : where_ + "." + name;
    error_ = what;
  }

  const Json& o_;
  std::string where_;
  std::string error_where_;
  std::string error_;
};

// Decodes each element of the array `name` of the body's object with `decode`.
template <typename Row, typename Decode>
Result<std::vector<Row>> DecodeRows(const Json& body, const char* name, Decode&& decode) {
  Fields top(body, "");
  const Json* array = top.Array(name);
  if (auto done = top.Done(); !done) return tl::unexpected(done.error());
  std::vector<Row> rows;
  rows.reserve(array->size());
  for (size_t i = 0; i < array->size(); ++i) {
    const Json& element = (*array)[i];
    Fields f(element, fmt::format("{}[{}]", name, i));
    Row row = decode(f);
    if (auto done = f.Done(); !done) return tl::unexpected(done.error());
    row.json = Compact(element);
    rows.push_back(std::move(row));
  }
  return rows;
}

ApiHistoryRow HistoryRow(Fields& f, bool failed) {
  ApiHistoryRow row;
  row.seq = f.Integer("seq");
  row.user = f.Bytes("user");
  row.tty = f.Bytes("tty");
  row.host = f.Bytes("host");
  row.addr = f.OptText("addr");
  row.pid = f.Integer("pid");
  if (failed) {
    row.type = "failed";
    row.login_time_us = f.Integer("time_us");
  } else {
    row.type = f.Text("type");
    row.login_time_us = f.Integer("login_time_us");
    row.end = f.Text("end");
    row.logout_time_us = f.OptInteger("logout_time_us");
  }
  return row;
}

}  // namespace

Result<ApiHost> DecodeHost(std::string_view body) {
  auto j = Parse(body);
  if (!j) return tl::unexpected(j.error());
  Fields f(*j, "");
  ApiHost h;
  h.hostname = f.Text("hostname");
  h.time_us = f.Integer("time_us");
  h.boot_time_us = f.Integer("boot_time_us");
  h.uptime_s = f.Integer("uptime_s");
  h.users = f.Integer("users");
  h.sessions = f.Integer("sessions");
  h.last_seq = f.Integer("last_seq");
  if (j->is_object() && j->contains("load")) {
    const Json& load = (*j)["load"];
    if (!load.is_array() || load.size() != 3) return tl::unexpected(Bad("load", "not 3 numbers"));
    for (size_t i = 0; i < 3; ++i) {
      if (!load[i].is_number()) return tl::unexpected(Bad("load", "not 3 numbers"));
      h.load[i] = load[i].get<double>();
    }
  }
  if (auto done = f.Done(); !done) return tl::unexpected(done.error());
  h.json = Compact(*j);
  return h;
}

Result<std::vector<ApiSession>> DecodeSessions(std::string_view body) {
  auto j = Parse(body);
  if (!j) return tl::unexpected(j.error());
  return DecodeRows<ApiSession>(*j, "sessions", [](Fields& f) {
    ApiSession s;
    s.user = f.Bytes("user");
    s.tty = f.Bytes("tty");
    s.host = f.Bytes("host");
    s.addr = f.OptText("addr");
    s.pid = f.Integer("pid");
    s.session = f.OptInteger("session").value_or(0);
    s.login_time_us = f.Integer("login_time_us");
    s.idle_s = f.OptInteger("idle_s");
    return s;
  });
}

Result<ApiHistoryPage> DecodeHistoryPage(std::string_view body, bool failed) {
  auto j = Parse(body);
  if (!j) return tl::unexpected(j.error());
  auto rows = DecodeRows<ApiHistoryRow>(*j, failed ? "failed" : "sessions",
                                        [failed](Fields& f) { return HistoryRow(f, failed); });
  if (!rows) return tl::unexpected(rows.error());
  Fields top(*j, "");
  ApiHistoryPage page;
  page.rows = std::move(*rows);
  page.next_cursor = top.OptText("next_cursor");
  if (auto done = top.Done(); !done) return tl::unexpected(done.error());
  return page;
}

Result<std::vector<ApiLastlog>> DecodeLastlog(std::string_view body) {
  auto j = Parse(body);
  if (!j) return tl::unexpected(j.error());
  return DecodeRows<ApiLastlog>(*j, "lastlog", [](Fields& f) {
    ApiLastlog l;
    l.user = f.Bytes("user");
    l.uid = f.OptInteger("uid");
    l.tty = f.OptBytes("tty");
    l.host = f.OptBytes("host");
    l.time_us = f.OptInteger("time_us");
    return l;
  });
}

Result<ApiEvent> DecodeEvent(std::string_view data) {
  auto j = Parse(data);
  if (!j) return tl::unexpected(j.error());
  Fields f(*j, "event");
  ApiEvent e;
  e.seq = f.Integer("seq");
  e.kind = f.Text("kind");
  e.time_us = f.Integer("time_us");
  e.user = f.Bytes("user");
  e.tty = f.Bytes("tty");
  e.host = f.Bytes("host");
  e.addr = f.OptText("addr");
  e.pid = f.Integer("pid");
  e.hostname = f.Text("hostname");
  if (auto done = f.Done(); !done) return tl::unexpected(done.error());
  e.json = Compact(*j);
  return e;
}

Result<std::vector<std::string>> DecodeFleetHosts(std::string_view body) {
  auto j = Parse(body);
  if (!j) return tl::unexpected(j.error());
  Fields top(*j, "");
  const Json* hosts = top.Array("hosts");
  if (auto done = top.Done(); !done) return tl::unexpected(done.error());
  std::vector<std::string> names;
  for (size_t i = 0; i < hosts->size(); ++i) {
    Fields f((*hosts)[i], fmt::format("hosts[{}]", i));
    std::string name = f.Text("name");
    if (auto done = f.Done(); !done) return tl::unexpected(done.error());
    names.push_back(std::move(name));
  }
  return names;
}

Result<Event> DecodeStoredEvent(std::string_view data) {
  auto j = Parse(data);
  if (!j) return tl::unexpected(j.error());
  Fields f(*j, "event");
  Event e;
  e.seq = f.Integer("seq");
  std::string kind = f.Text("kind");
  std::optional<int64_t> time_us = f.OptInteger("time_us");
  e.user = f.Bytes("user");
  e.tty = f.Bytes("tty");
  e.remote_host = f.Bytes("host");
  std::optional<std::string> addr;
  if (j->is_object() && j->contains("addr") && !(*j)["addr"].is_null()) addr = f.OptText("addr");
  int64_t pid = f.Integer("pid");
  e.session = f.Integer("session");
  std::string source = f.Text("source");
  if (j->is_object() && j->contains("boot_id") && !(*j)["boot_id"].is_null())
    e.boot_id = f.Text("boot_id");
  // A boot id is hex digits (and dashes): anything else is left out, never stored as text.
  if (e.boot_id.size() > 64 ||
      e.boot_id.find_first_not_of("0123456789abcdefABCDEF-") != std::string::npos)
    e.boot_id.clear();
  if (auto done = f.Done(); !done) return tl::unexpected(done.error());
  if (e.seq <= 0) return tl::unexpected(Bad("event.seq", "not a positive integer"));
  if (!time_us) return tl::unexpected(Bad("event.time_us", "missing"));
  e.time_us = *time_us;
  auto k = ParseEventKind(kind);
  if (!k) return tl::unexpected(Bad("event.kind", "unknown kind"));
  e.kind = *k;
  auto src = ParseEventSource(source);
  if (!src)
    return tl::unexpected(Bad("event.source", "unknown source"));
  e.source = *src;
  if (pid < std::numeric_limits<int32_t>::min() || pid > std::numeric_limits<int32_t>::max())
    return tl::unexpected(Bad("event.pid", "out of range"));
  e.pid = static_cast<int32_t>(pid);
  if (addr) {
    auto bytes = ParseAddressBytes(*addr);
    if (!bytes) return tl::unexpected(Bad("event.addr", "not an IPv4 or IPv6 address"));
    e.remote_addr = *bytes;
  }
  return e;
}

Result<ApiGap> DecodeGap(std::string_view data) {
  auto j = Parse(data);
  if (!j) return tl::unexpected(j.error());
  Fields f(*j, "gap");
  ApiGap gap;
  gap.from = f.Integer("from");
  gap.oldest = f.Integer("oldest");
  if (auto done = f.Done(); !done) return tl::unexpected(done.error());
  return gap;
}

Result<ApiReset> DecodeReset(std::string_view data) {
  auto j = Parse(data);
  if (!j) return tl::unexpected(j.error());
  Fields f(*j, "reset");
  ApiReset reset;
  reset.reason = f.Text("reason");
  reset.history = f.Text("history");
  reset.last_seq = f.Integer("last_seq");
  if (auto done = f.Done(); !done) return tl::unexpected(done.error());
  return reset;
}

std::string DescribeHttpError(unsigned status, std::string_view body) {
  std::string text = fmt::format("HTTP {}", status);
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    const Json& e = j["error"];
    if (e.contains("message") && e["message"].is_string()) {
      text += ": ";
      AppendForTerminal(text, e["message"].get<std::string>(), CurrentTerminalCharset());
    }
  }
  return text;
}

}  // namespace utmpcd
