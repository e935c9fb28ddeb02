// Linux authentication messages through the shipped syslog table (config/sources/syslog.toml):
// the fields Elastic's system/auth pipeline gives them, whichever syslog framing carried them.

#include "test_util.hpp"

#include <gtest/gtest.h>

namespace chainwatch::normalize::testing {
namespace {

bool has(const event::event& ev, std::string_view path) {
  return ev.get(event::field_path(path)).exists();
}

std::string set_of(std::initializer_list<const char*> items) {
  std::vector<std::string> v;
  for (const char* i : items) {
    v.emplace_back(i);
  }
  return canon_array(std::move(v));
}

class auth : public ::testing::Test {
protected:
  event::event parse(std::string_view line) {
    context ctx;
    ctx.now_ns = *parse_timestamp("2026-12-07T12:00:00Z", "iso8601");
    auto ev = n_.normalize(source_type::syslog, line, ctx);
    EXPECT_TRUE(ev) << ev.error().reason << " in " << line;
    return ev ? std::move(*ev) : event::event{};
  }
  normalizer n_ = make_normalizer();
};

void expect_failed_root_login(const event::event& ev) {
  EXPECT_EQ(field_text(ev, "event.category"), set_of({"authentication"}));
  EXPECT_EQ(field_text(ev, "event.type"), set_of({"info"}));
  EXPECT_EQ(field_text(ev, "event.action"), "ssh_login");
  EXPECT_EQ(field_text(ev, "event.outcome"), "failure");
  EXPECT_EQ(field_text(ev, "user.name"), "root");
  EXPECT_EQ(field_text(ev, "source.ip"), "10.9.9.9");
  EXPECT_EQ(field_text(ev, "source.address"), "10.9.9.9");
  EXPECT_EQ(field_text(ev, "source.port"), "22");
  EXPECT_EQ(field_text(ev, "system.auth.ssh.event"), "Failed");
  EXPECT_EQ(field_text(ev, "system.auth.ssh.method"), "password");
  EXPECT_EQ(field_text(ev, "related.user"), set_of({"root"}));
  EXPECT_EQ(field_text(ev, "related.ip"), set_of({"10.9.9.9"}));
  EXPECT_EQ(field_text(ev, "process.name"), "sshd");
  EXPECT_EQ(field_text(ev, "@timestamp"), "2026-12-07T10:00:00.000Z");
  // The message's fields replace it, as in Elastic.
  EXPECT_FALSE(has(ev, "message"));
}

TEST_F(auth, failed_ssh_login_in_every_framing) {
  const char* msg = "Failed password for root from 10.9.9.9 port 22 ssh2";
  const std::string framings[] = {
      std::string("<38>1 2026-12-07T10:00:00Z myhost sshd 123 - - ") + msg,
      std::string("<38>Dec  7 10:00:00 myhost sshd[123]: ") + msg,
      std::string("<38>Dec 7 10:00:00 myhost sshd[123]: ") + msg,
      std::string("Dec  7 10:00:00 myhost sshd[123]: ") + msg,
      std::string("Dec  7 2026 10:00:00 myhost sshd[123]: ") + msg,
      std::string("2026-12-07T12:00:00.000+02:00 myhost sshd[123]: ") + msg,
      std::string(R"({"message":"<38>Dec  7 10:00:00 myhost sshd[123]: )") + msg + "\"}",
      std::string(R"({"event":{"original":"Dec  7 10:00:00 myhost sshd[123]: )") + msg + "\"}}",
      // Elastic Agent's syslog processor decoded the header already.
      std::string(R"({"@timestamp":"2026-12-07T10:00:00Z","log":{"syslog":{"priority":38,)"
                  R"("appname":"sshd","procid":"123","hostname":"myhost"}},"message":")") +
          msg + "\"}",
  };
  for (const auto& line : framings) {
    SCOPED_TRACE(line);
    const auto ev = parse(line);
    expect_failed_root_login(ev);
    EXPECT_EQ(field_text(ev, "host.hostname"), "myhost");
    EXPECT_EQ(field_text(ev, "process.pid"), "123");
  }
  // RFC 5424 NILVALUE: no `log.syslog.msgid: "-"`.
  const auto ev = parse(framings[0]);
  EXPECT_FALSE(has(ev, "log.syslog.msgid"));
  EXPECT_EQ(field_text(ev, "log.syslog.version"), "1");
  EXPECT_EQ(field_text(ev, "log.syslog.facility.code"), "4");
  EXPECT_EQ(field_text(ev, "log.syslog.severity.name"), "Informational");
}

TEST_F(auth, ssh_accepted_invalid_and_dropped) {
  const auto key = parse("Feb 21 21:54:44 localhost sshd[3402]: Accepted publickey for vagrant "
                         "from 10.0.2.2 port 63673 ssh2: RSA 39:33:99:e9");
  EXPECT_EQ(field_text(key, "event.category"), set_of({"authentication", "session"}));
  EXPECT_EQ(field_text(key, "event.outcome"), "success");
  EXPECT_EQ(field_text(key, "event.action"), "ssh_login");
  EXPECT_EQ(field_text(key, "user.name"), "vagrant");
  EXPECT_EQ(field_text(key, "system.auth.ssh.method"), "publickey");
  EXPECT_EQ(field_text(key, "system.auth.ssh.signature"), "RSA 39:33:99:e9");
  const auto invalid_user = parse("Dec  7 10:00:01 h sshd[9]: Failed password for invalid user "
                                  "admin from 2001:db8::7 port 50022 ssh2");
  EXPECT_EQ(field_text(invalid_user, "user.name"), "admin");
  EXPECT_EQ(field_text(invalid_user, "source.ip"), "2001:db8::7");
  EXPECT_EQ(field_text(invalid_user, "event.outcome"), "failure");
  const auto invalid = parse("Dec  7 10:00:02 h sshd[9]: Invalid user test from 10.0.2.2 port 5");
  EXPECT_EQ(field_text(invalid, "event.outcome"), "failure");
  EXPECT_EQ(field_text(invalid, "user.name"), "test");
  EXPECT_EQ(field_text(invalid, "source.port"), "5");
  const auto named =
      parse("Feb 22 12:53:50 m sshd[1]: error: PAM: User not known to the "
            "underlying authentication module for illegal user test from a.b.example");
  EXPECT_EQ(field_text(named, "source.domain"), "a.b.example");
  EXPECT_FALSE(has(named, "source.ip"));
  EXPECT_FALSE(has(named, "event.outcome"));
  const auto dropped = parse("Feb 19 15:30:04 s sshd[1]: Did not receive identification string "
                             "from 89.160.20.156");
  EXPECT_EQ(field_text(dropped, "source.ip"), "89.160.20.156");
  EXPECT_EQ(field_text(dropped, "system.auth.ssh.dropped_ip"), "89.160.20.156");
  // `from X` where X is not a host is not an sshd message: the text stays.
  const auto usermod =
      parse("Oct 19 12:54:40 p usermod[7]: change user 'acris' expiration from '2001-01-01' to x");
  EXPECT_FALSE(has(usermod, "source.address"));
  EXPECT_EQ(field_text(usermod, "user.name"), "acris");
  EXPECT_EQ(field_text(usermod, "message"),
            "change user 'acris' expiration from '2001-01-01' to x");
}

TEST_F(auth, sudo_commands_and_refusals) {
  const auto ok = parse("<85>1 2023-10-17T18:20:49.792553+02:00 srv sudo 97641 - -  moe : "
                        "TTY=pts/0 ; PWD=/home/moe ; USER=root ; COMMAND=/bin/sh -c echo hi");
  EXPECT_EQ(field_text(ok, "user.name"), "moe");
  EXPECT_EQ(field_text(ok, "user.effective.name"), "root");
  EXPECT_EQ(field_text(ok, "system.auth.sudo.tty"), "pts/0");
  EXPECT_EQ(field_text(ok, "system.auth.sudo.pwd"), "/home/moe");
  EXPECT_EQ(field_text(ok, "system.auth.sudo.user"), "root");
  EXPECT_EQ(field_text(ok, "system.auth.sudo.command"), "/bin/sh -c echo hi");
  EXPECT_EQ(field_text(ok, "event.category"), set_of({"process"}));
  EXPECT_EQ(field_text(ok, "related.user"), set_of({"moe", "root"}));
  EXPECT_FALSE(has(ok, "event.outcome"));
  const auto refused = parse("Feb 24 00:13:02 precise32 sudo:      tsg : user NOT in sudoers ; "
                             "TTY=pts/1 ; PWD=/home/vagrant ; USER=root ; COMMAND=/bin/ls");
  EXPECT_EQ(field_text(refused, "user.name"), "tsg");
  EXPECT_EQ(field_text(refused, "system.auth.sudo.error"), "user NOT in sudoers");
  EXPECT_EQ(field_text(refused, "event.outcome"), "failure");
}

TEST_F(auth, accounts_and_groups) {
  const auto group = parse("Feb 22 11:47:05 localhost groupadd[6991]: new group: name=apache, "
                           "GID=48");
  EXPECT_EQ(field_text(group, "group.name"), "apache");
  EXPECT_EQ(field_text(group, "group.id"), "48");
  EXPECT_EQ(field_text(group, "event.category"), set_of({"iam"}));
  EXPECT_EQ(field_text(group, "event.type"), set_of({"group", "creation"}));
  EXPECT_EQ(field_text(group, "event.outcome"), "success");
  const auto user = parse("Feb 22 11:47:05 localhost useradd[6995]: new user: name=apache, UID=48, "
                          "GID=48, home=/usr/share/httpd, shell=/sbin/nologin, from=/dev/pts/0");
  EXPECT_EQ(field_text(user, "user.name"), "apache");
  EXPECT_EQ(field_text(user, "user.id"), "48");
  EXPECT_EQ(field_text(user, "group.id"), "48");
  EXPECT_EQ(field_text(user, "system.auth.useradd.home"), "/usr/share/httpd");
  EXPECT_EQ(field_text(user, "system.auth.useradd.shell"), "/sbin/nologin");
  EXPECT_EQ(field_text(user, "event.type"), set_of({"user", "creation"}));
  const auto failed = parse("Oct 11 09:10:48 p useradd[25494]: failed adding user 'aol', exit 4");
  EXPECT_EQ(field_text(failed, "event.outcome"), "failure");
  EXPECT_EQ(field_text(failed, "user.name"), "aol");
  const auto deleted = parse("Oct 14 16:49:59 dlig userdel[1619336]: delete user 'jce'");
  EXPECT_EQ(field_text(deleted, "event.type"), set_of({"user", "deletion"}));
  EXPECT_EQ(field_text(deleted, "user.name"), "jce");
}

TEST_F(auth, pam_sessions_and_failures) {
  const auto opened = parse("Feb  9 21:19:40 precise32 sudo: pam_unix(sudo:session): session "
                            "opened for user root by vagrant(uid=1000)");
  EXPECT_EQ(field_text(opened, "event.action"), "logged-on");
  EXPECT_EQ(field_text(opened, "event.category"), set_of({"session"}));
  EXPECT_EQ(field_text(opened, "user.name"), "vagrant");
  EXPECT_EQ(field_text(opened, "user.id"), "1000");
  EXPECT_EQ(field_text(opened, "user.effective.name"), "root");
  EXPECT_EQ(field_text(opened, "message"),
            "pam_unix(sudo:session): session opened for user root by vagrant(uid=1000)");
  // pam_unix >= 1.5 writes the uid of both users.
  const auto modern = parse("Dec  7 10:00:00 h sudo: pam_unix(sudo:session): session opened for "
                            "user root(uid=0) by alice(uid=1000)");
  EXPECT_EQ(field_text(modern, "user.effective.name"), "root");
  EXPECT_EQ(field_text(modern, "user.effective.id"), "0");
  EXPECT_EQ(field_text(modern, "user.name"), "alice");
  const auto closed = parse("Feb 22 10:26:52 precise32 sshd[1317]: pam_unix(sshd:session): "
                            "session closed for user vagrant");
  EXPECT_EQ(field_text(closed, "event.action"), "logged-off");
  EXPECT_EQ(field_text(closed, "user.name"), "vagrant");
  const auto failure = parse("Feb 22 16:45:32 slave22 sshd[2742]: pam_unix(sshd:auth): "
                             "authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
                             "rhost=89.160.20.156  user=root");
  EXPECT_EQ(field_text(failure, "event.category"), set_of({"authentication"}));
  EXPECT_EQ(field_text(failure, "event.outcome"), "failure");
  EXPECT_EQ(field_text(failure, "source.ip"), "89.160.20.156");
  EXPECT_EQ(field_text(failure, "user.name"), "root");
  const auto quoted = parse("Feb 22 16:45:20 slave22 sshd[2738]: pam_succeed_if(sshd:auth): "
                            "requirement \"uid >= 1000\" not met by user \"root\"");
  EXPECT_EQ(field_text(quoted, "user.name"), "root");
  const auto password = parse("Feb 24 00:12:07 precise32 passwd[4491]: "
                              "pam_unix(passwd:chauthtok): password changed for tsg");
  EXPECT_EQ(field_text(password, "event.category"), set_of({"iam"}));
  EXPECT_EQ(field_text(password, "event.action"), "password-changed");
  EXPECT_EQ(field_text(password, "event.outcome"), "success");
  EXPECT_EQ(field_text(password, "user.target.name"), "tsg");
}

} // namespace
} // namespace chainwatch::normalize::testing
