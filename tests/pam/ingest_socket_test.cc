// IngestSocket on a real directory: root's datagrams arrive, anyone else's are rejected and
// counted (a child that drops to nobody), garbage is counted and never fatal, and the socket
// file is created, replaced and removed without ever taking someone else's.
#include "sources/ingest_socket.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <optional>

#include "pam/pam_test_util.h"

namespace utmpcd::testing {
namespace {

constexpr uid_t kNobody = 65534;

size_t OpenDescriptors() {
  size_t n = 0;
  for ([[maybe_unused]] auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// Sends `bytes` with one SOL_SOCKET control message of `type` carrying `data`.
ssize_t SendWithControl(int fd, const std::string& bytes, int type, const void* data,
                        size_t size) {
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))] = {};  // the larger of the two uses
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = CMSG_SPACE(size);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_len = CMSG_LEN(size);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = type;
  std::memcpy(CMSG_DATA(c), data, size);
  return ::sendmsg(fd, &msg, 0);
}

class IngestSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (credentials of uid 0 and of another)";
  }

  IngestSocket Open(mode_t mode = 0600) {
    auto socket = IngestSocket::Open({path_, mode});
    EXPECT_TRUE(socket) << socket.error().message;
    return std::move(*socket);
  }

  std::vector<IngestSocket::Received> Next(IngestSocket& socket) {
    EXPECT_TRUE(Readable(socket.fd(), kDeadlineMs)) << "nothing within " << kDeadlineMs << " ms";
    auto received = socket.Drain();
    EXPECT_TRUE(received) << received.error().message;
    return received ? *received : std::vector<IngestSocket::Received>{};
  }

  PamTempDir dir_;
  std::string path_ = dir_ / "run/utmpcd/ingest.sock";
};

TEST_F(IngestSocketTest, AcceptsRootAndCreatesItsDirectoryAndMode) {
  IngestSocket socket = Open();
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "run/utmpcd").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  auto none = socket.Drain();  // nothing pending: returns at once
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());

  ASSERT_EQ(SendTo(path_, EncodeIngestMessage(SshdOpen())), 0);
  auto received = Next(socket);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].message, SshdOpen());
  EXPECT_EQ(received[0].sender_uid, 0u);
  EXPECT_EQ(received[0].sender_pid, ::getpid());
  EXPECT_EQ(socket.counters().accepted, 1u);
  EXPECT_FALSE(Readable(socket.fd(), 0)) << "Drain left datagrams behind";
}

// A socket systemd bound and handed over (socket activation) is served as one of our own,
// with every sender's credentials checked, and its file is left to systemd.
TEST_F(IngestSocketTest, ASocketHandedOverIsServedAndItsFileLeftAlone) {
  std::filesystem::create_directories(dir_ / "run/utmpcd");
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path_.copy(addr.sun_path, sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  {
    auto socket = IngestSocket::Adopt(fd);
    ASSERT_TRUE(socket) << socket.error().message;
    EXPECT_EQ(socket->path(), path_);
    ASSERT_EQ(SendTo(path_, EncodeIngestMessage(SshdOpen())), 0);
    auto received = Next(*socket);
    ASSERT_EQ(received.size(), 1u);
    EXPECT_EQ(received[0].message, SshdOpen());
    EXPECT_EQ(received[0].sender_uid, 0u);
  }
  struct stat st {};
  EXPECT_EQ(::lstat(path_.c_str(), &st), 0) << "the handed-over socket's file was removed";
  // Anything but a Unix datagram socket is refused (and closed).
  int stream = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto wrong = IngestSocket::Adopt(stream);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(::fcntl(stream, F_GETFD), -1) << "the refused socket was left open";
}

TEST_F(IngestSocketTest, RejectsAndCountsANonRootSender) {
  IngestSocket socket = Open();
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Connected as root, then dropped to nobody: the descriptor is all an attacker could hold.
    int fd = ConnectTo(path_);
    if (fd < 0 || ::setuid(kNobody) != 0) ::_exit(10);
    std::string bytes = EncodeIngestMessage(SshdOpen());
    if (::send(fd, bytes.data(), bytes.size(), 0) < 0) ::_exit(11);
    // Claiming uid 0 in SCM_CREDENTIALS is refused by the kernel itself.
    ucred forged{::getpid(), 0, 0};
    ::_exit(SendWithControl(fd, bytes, SCM_CREDENTIALS, &forged, sizeof forged) < 0 &&
                    errno == EPERM
                ? 0
                : 12);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "10: setup, 11: send, 12: forged credentials accepted";

  EXPECT_TRUE(Next(socket).empty());
  EXPECT_EQ(socket.counters().rejected, 1u);
  EXPECT_EQ(socket.counters().accepted, 0u);
  // And root still gets through afterwards.
  ASSERT_EQ(SendTo(path_, EncodeIngestMessage(SshdOpen())), 0);
  EXPECT_EQ(Next(socket).size(), 1u);
}

TEST_F(IngestSocketTest, ANonRootProcessCannotReachA0600Socket) {
  ::chmod(dir_.path().c_str(), 0755);
  IngestSocket socket = Open();
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setuid(kNobody) != 0) ::_exit(10);
    ::_exit(SendTo(path_, EncodeIngestMessage(SshdOpen())) == EACCES ? 0 : 11);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  EXPECT_FALSE(Readable(socket.fd(), 0));
}

TEST_F(IngestSocketTest, MalformedDatagramsAreCountedNotFatal) {
  IngestSocket socket = Open();
  std::string good = EncodeIngestMessage(SshdOpen());
  ASSERT_EQ(SendTo(path_, "hello"), 0);
  ASSERT_EQ(SendTo(path_, ""), 0);
  ASSERT_EQ(SendTo(path_, good + std::string(kMaxIngestMessageBytes, 'x')), 0);  // oversized
  ASSERT_EQ(SendTo(path_, good), 0);
  auto received = Next(socket);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].message, SshdOpen());
  EXPECT_EQ(socket.counters().malformed, 3u);
  EXPECT_EQ(socket.counters().accepted, 1u);
}

TEST_F(IngestSocketTest, DescriptorsPassedWithAMessageAreClosed) {
  IngestSocket socket = Open();
  size_t before = OpenDescriptors();
  int fd = ConnectTo(path_);
  ASSERT_GE(fd, 0);
  int passed = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  std::string bytes = EncodeIngestMessage(SshdOpen());
  ASSERT_GE(SendWithControl(fd, bytes, SCM_RIGHTS, &passed, sizeof passed), 0)
      << std::strerror(errno);
  ::close(passed);
  ::close(fd);
  EXPECT_EQ(Next(socket).size(), 1u);
  EXPECT_EQ(OpenDescriptors(), before);
}

TEST_F(IngestSocketTest, ReplacesAStaleSocketButNotALiveOneOrAFile) {
  std::filesystem::create_directories(dir_ / "run/utmpcd");
  {
    // A daemon that died: its socket file is left, with nobody bound to it.
    IngestSocket first = Open();
    ::rename(path_.c_str(), (path_ + ".keep").c_str());
  }
  ::rename((path_ + ".keep").c_str(), path_.c_str());
  IngestSocket live = Open(0660);
  struct stat st {};
  ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0660u);

  auto second = IngestSocket::Open({path_, 0600});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kIo);
  EXPECT_NE(second.error().message.find("in use"), std::string::npos) << second.error().message;
  ASSERT_EQ(SendTo(path_, EncodeIngestMessage(SshdOpen())), 0);
  EXPECT_EQ(Next(live).size(), 1u) << "the live socket was taken over";

  std::string file = dir_ / "not_a_socket";
  std::ofstream(file) << "data";
  auto refused = IngestSocket::Open({file, 0600});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(std::filesystem::is_regular_file(file));
}

TEST_F(IngestSocketTest, ClosingRemovesOnlyItsOwnFile) {
  std::optional<IngestSocket> old(Open());
  ::unlink(path_.c_str());
  IngestSocket successor = Open();
  old.reset();
  EXPECT_TRUE(std::filesystem::exists(path_)) << "the successor's socket file was removed";
  { IngestSocket moved = std::move(successor); }
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(IngestSocketTest, RefusesBadPaths) {
  EXPECT_FALSE(IngestSocket::Open({"relative.sock", 0600}));
  EXPECT_FALSE(IngestSocket::Open({"/" + std::string(200, 'x'), 0600}));
}

}  // namespace
}  // namespace utmpcd::testing
