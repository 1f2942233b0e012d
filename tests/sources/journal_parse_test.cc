// ParseAuthFailure on the messages sshd (OpenSSH 9.2 of Debian 12, 10.0 of Debian 13) and
// pam_unix log for failed logins, and on what must not count: publickey attempts, sshd's own
// pam_unix lines, successes, and user names built to look like more of the message.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sources/journal_follower.h"

namespace utmpcd::testing {
namespace {

std::string Show(const std::optional<AuthFailure>& f) {
  return f ? "[" + f->user + "] [" + f->host + "] [" + f->tty + "]" : "none";
}

TEST(ParseAuthFailureTest, SshdFailuresAsBtmpRecordsThem) {
  EXPECT_EQ(Show(ParseAuthFailure("sshd", "Failed password for root from 192.0.2.1 port 22 ssh2")),
            "[root] [192.0.2.1] [ssh:notty]");
  EXPECT_EQ(Show(ParseAuthFailure("sshd-session",
                                  "Failed password for invalid user admin from 2001:db8::7 port "
                                  "50122 ssh2")),
            "[admin] [2001:db8::7] [ssh:notty]");
  EXPECT_EQ(Show(ParseAuthFailure("sshd", "Failed keyboard-interactive/pam for bob from "
                                          "198.51.100.2 port 2222 ssh2")),
            "[bob] [198.51.100.2] [ssh:notty]");
  EXPECT_EQ(Show(ParseAuthFailure("sshd", "Invalid user oracle from 203.0.113.9 port 40000")),
            "[oracle] [203.0.113.9] [ssh:notty]");
}

TEST(ParseAuthFailureTest, WhatBtmpNeverHadIsNoFailure) {
  EXPECT_EQ(Show(ParseAuthFailure("sshd", "Failed publickey for bob from 192.0.2.4 port 22 ssh2: "
                                          "ED25519 SHA256:abc")),
            "none");
  EXPECT_EQ(Show(ParseAuthFailure("sshd", "Accepted password for bob from 192.0.2.4 port 22 ssh2")),
            "none");
  EXPECT_EQ(Show(ParseAuthFailure("sshd", "pam_unix(sshd:auth): authentication failure; "
                                          "logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.4  "
                                          "user=bob")),
            "none");
  EXPECT_EQ(Show(ParseAuthFailure("sshd", "Failed password for root from 192.0.2.1")), "none");
  EXPECT_EQ(Show(ParseAuthFailure("cron", "pam_unix(cron:session): session opened for user root")),
            "none");
}

TEST(ParseAuthFailureTest, PamFailuresOfOtherPrograms) {
  EXPECT_EQ(Show(ParseAuthFailure("login", "pam_unix(login:auth): authentication failure; "
                                           "logname=LOGIN uid=0 euid=0 tty=/dev/tty1 ruser= rhost=  "
                                           "user=alice")),
            "[alice] [] [tty1]");
  EXPECT_EQ(Show(ParseAuthFailure("su", "pam_unix(su:auth): authentication failure; logname=eve "
                                        "uid=1000 euid=0 tty=/dev/pts/0 ruser=eve rhost=  user=root")),
            "[root] [] [pts/0]");
  EXPECT_EQ(Show(ParseAuthFailure("sudo", "pam_unix(sudo:auth): authentication failure; logname= "
                                          "uid=0 euid=0 tty= ruser= rhost=192.0.2.8")),
            "[] [192.0.2.8] []");
}

TEST(ParseAuthFailureTest, AUserNameCannotForgeWhereTheAttemptCameFrom) {
  // The last " from " is sshd's: whatever the name holds stays in the name.
  EXPECT_EQ(Show(ParseAuthFailure("sshd", "Failed password for invalid user x from 6.6.6.6 port 1 "
                                          "ssh2 from 192.0.2.9 port 22 ssh2")),
            "[x from 6.6.6.6 port 1 ssh2] [192.0.2.9] [ssh:notty]");
  EXPECT_EQ(Show(ParseAuthFailure("sshd", "Invalid user \x1b[2J\x07 from 192.0.2.3 port 4444")),
            "[\x1b[2J\x07] [192.0.2.3] [ssh:notty]");
  // su 'x user=root': pam_unix's user= is the first after rhost=; the rest is the name.
  EXPECT_EQ(Show(ParseAuthFailure("su", "pam_unix(su:auth): authentication failure; logname=eve "
                                        "uid=1000 euid=0 tty=/dev/pts/0 ruser=eve rhost=  "
                                        "user=x user=root")),
            "[x user=root] [] [pts/0]");
}

}  // namespace
}  // namespace utmpcd::testing
