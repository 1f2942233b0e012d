// DecodeIngestMessage (the datagrams of the ingest socket, sent by pam_utmpcd.so or by anyone
// root) on arbitrary bytes: an error or a message, never a crash. A decoded message must pass
// ValidateIngestMessage and encode back to exactly the bytes it came from (the format has one
// encoding per message), and its Event must carry its user.
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "sources/ingest_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using utmpcd::fuzz::Check;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto message = utmpcd::DecodeIngestMessage(bytes);
  if (!message) {
    Check(message.error().message.rfind("ingest: ", 0) == 0, "error names the ingest format");
    return 0;
  }
  Check(static_cast<bool>(utmpcd::ValidateIngestMessage(*message)), "decoded message is valid");
  Check(utmpcd::EncodeIngestMessage(*message) == bytes, "re-encoding gives the same bytes");
  utmpcd::Event event = utmpcd::EventFromIngest(*message);
  Check(event.user == message->user, "the event keeps the user");
  Check(event.source == utmpcd::EventSource::kPam, "the event comes from PAM");
  return 0;
}
