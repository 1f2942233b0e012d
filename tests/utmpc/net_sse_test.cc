// The event-stream parser on the byte sequences a daemon (or a proxy, or an attacker) can send,
// fed whole and in every split, since TCP delivers a stream in arbitrary pieces.
#include "net/sse.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace utmpcd {
namespace {

struct Parsed {
  std::vector<SseMessage> messages;
  bool ok = true;
};

// Feeds `stream` in pieces of `piece` bytes (0: all at once).
Parsed Parse(const std::string& stream, size_t piece = 0, SseParser* parser = nullptr) {
  SseParser local;
  SseParser& p = parser != nullptr ? *parser : local;
  Parsed out;
  if (piece == 0) piece = stream.size() + 1;
  for (size_t at = 0; at < stream.size() && out.ok; at += piece) {
    out.ok = p.Feed(std::string_view(stream).substr(at, piece), [&](const SseMessage& m) {
                out.messages.push_back(m);
              }).has_value();
  }
  return out;
}

// What the daemon sends: the retry line, then events with id, event and data.
constexpr char kDaemonStream[] =
    "retry: 1000\n\n"
    "id: 811\nevent: login\ndata: {\"seq\":811}\n\n"
    ": ping\n\n"
    "id: 812\nevent: logout\ndata: {\"seq\":812}\n\n";

TEST(SseParserTest, DaemonStreamInEveryPieceSize) {
  for (size_t piece = 0; piece <= 9; ++piece) {
    SseParser parser;
    Parsed p = Parse(kDaemonStream, piece, &parser);
    ASSERT_TRUE(p.ok) << piece;
    ASSERT_EQ(p.messages.size(), 2u) << "piece " << piece;
    EXPECT_EQ(p.messages[0].event, "login");
    EXPECT_EQ(p.messages[0].data, "{\"seq\":811}");
    EXPECT_EQ(p.messages[0].last_event_id, "811");
    EXPECT_EQ(p.messages[1].event, "logout");
    EXPECT_EQ(p.messages[1].last_event_id, "812");
    EXPECT_EQ(parser.last_event_id(), "812");
    EXPECT_EQ(parser.retry_ms(), 1000u);
  }
}

TEST(SseParserTest, LineEndsCrLfAndCrAlsoSplitBetweenCrAndLf) {
  const std::string stream = "data: a\r\ndata: b\r\rdata: c\r\n\r\n";
  for (size_t piece = 0; piece <= 4; ++piece) {
    Parsed p = Parse(stream, piece);
    ASSERT_EQ(p.messages.size(), 2u) << piece;
    EXPECT_EQ(p.messages[0].data, "a\nb");
    EXPECT_EQ(p.messages[0].event, "message");
    EXPECT_EQ(p.messages[1].data, "c");
  }
}

TEST(SseParserTest, FieldsAsTheStandardReadsThem) {
  // No space after the colon; a field with no colon; an unknown field; a comment.
  Parsed p = Parse("data:x\ndata\nfoo: bar\n: comment\nevent:gap\n\n");
  ASSERT_EQ(p.messages.size(), 1u);
  EXPECT_EQ(p.messages[0].data, "x\n");
  EXPECT_EQ(p.messages[0].event, "gap");
}

TEST(SseParserTest, MessageWithoutDataIsNotDispatchedButItsIdCounts) {
  SseParser parser;
  Parsed p = Parse("id: 5\nevent: login\n\n", 0, &parser);
  EXPECT_TRUE(p.messages.empty());
  EXPECT_EQ(parser.last_event_id(), "5");
  // The event name does not leak into the next message.
  p = Parse("data: y\n\n", 0, &parser);
  ASSERT_EQ(p.messages.size(), 1u);
  EXPECT_EQ(p.messages[0].event, "message");
  EXPECT_EQ(p.messages[0].last_event_id, "5");
}

TEST(SseParserTest, IdWithNulIsIgnoredAndBadRetryToo) {
  SseParser parser;
  std::string stream = "id: 7\n\nid: 8";
  stream += '\0';
  stream += "x\nretry: 12a\nretry: 99999999999999999999999\n\n";
  Parse(stream, 0, &parser);
  EXPECT_EQ(parser.last_event_id(), "7");
  EXPECT_FALSE(parser.retry_ms().has_value());
}

TEST(SseParserTest, ByteOrderMarkAtTheStartOnly) {
  Parsed p = Parse(
      "\xEF\xBB\xBF"
      "data: a\n\n\xEF\xBB\xBF"
      "data: b\n\n",
      1);
  ASSERT_EQ(p.messages.size(), 1u);  // the second BOM makes an unknown field name
  EXPECT_EQ(p.messages[0].data, "a");
}

TEST(SseParserTest, AnUnfinishedMessageIsDroppedWhenTheStreamRestarts) {
  SseParser parser;
  Parse("id: 3\ndata: {\"seq\":3}\n\nid: 4\ndata: {\"se", 0, &parser);
  EXPECT_EQ(parser.last_event_id(), "3");
  parser.StartStream();
  Parsed p = Parse("id: 4\ndata: {\"seq\":4}\n\n", 0, &parser);
  ASSERT_EQ(p.messages.size(), 1u);
  EXPECT_EQ(p.messages[0].data, "{\"seq\":4}");
}

TEST(SseParserTest, AHugeLineOrMessageIsAnErrorNotMemory) {
  std::string line = "data: " + std::string(SseParser::kMaxMessageBytes, 'x');
  Parsed p = Parse(line, 4096);
  EXPECT_FALSE(p.ok);
  // Many short data lines add up to the same.
  std::string lines;
  for (size_t i = 0; i < SseParser::kMaxMessageBytes / 8 + 1; ++i) lines += "data: 1234567\n";
  p = Parse(lines, 65536);
  EXPECT_FALSE(p.ok);
  EXPECT_TRUE(p.messages.empty());
}

}  // namespace
}  // namespace utmpcd
