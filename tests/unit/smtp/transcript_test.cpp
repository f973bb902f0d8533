// Client-side transcripts from RFC 5321 Appendix D run through the protocol layer the way a
// session does: lines are cut at CRLF and parsed; after DATA the reader takes the bytes; the
// client stream is delivered in arbitrary pieces (pipelining, RFC 2920).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smtpd/protocol/command.hpp"
#include "smtpd/protocol/data_reader.hpp"

namespace roost::smtp {
namespace {

// What the session would see, as short strings.
class MiniSession {
 public:
  void receive(std::string_view bytes) {
    buffer_.append(bytes);
    std::size_t pos = 0;
    while (pos < buffer_.size()) {
      std::string_view rest = std::string_view(buffer_).substr(pos);
      if (in_data_) {
        FeedResult r = reader_.feed(rest);
        pos += r.consumed;
        if (!r.done) break;
        auto rejection = reader_.flags().rejection();
        events_.push_back(rejection ? "REJECT " + std::to_string(rejection->code)
                                    : "MESSAGE " + std::to_string(reader_.message().size()));
        reader_.reset();
        in_data_ = false;
        continue;
      }
      std::size_t eol = rest.find("\r\n");
      if (eol == std::string_view::npos) break;
      on_line(rest.substr(0, eol));
      pos += eol + 2;
    }
    buffer_.erase(0, pos);
  }
  const std::vector<std::string>& events() const { return events_; }

 private:
  void on_line(std::string_view line) {
    auto r = parse_command(line, options_);
    if (auto* e = std::get_if<ParseError>(&r)) {
      events_.push_back("ERROR " + std::to_string(e->code));
      return;
    }
    std::visit(
        [&](const auto& c) {
          using T = std::decay_t<decltype(c)>;
          if constexpr (std::is_same_v<T, Ehlo>) {
            events_.push_back("EHLO " + c.domain);
          } else if constexpr (std::is_same_v<T, Mail>) {
            events_.push_back("MAIL " + c.reverse_path.address());
            options_.smtputf8_transaction = c.params.smtputf8;
          } else if constexpr (std::is_same_v<T, Rcpt>) {
            events_.push_back("RCPT " + c.forward_path.address());
          } else if constexpr (std::is_same_v<T, Data>) {
            events_.push_back("DATA");
            in_data_ = true;
          } else if constexpr (std::is_same_v<T, Rset>) {
            events_.push_back("RSET");
          } else if constexpr (std::is_same_v<T, Quit>) {
            events_.push_back("QUIT");
          } else if constexpr (std::is_same_v<T, Vrfy>) {
            events_.push_back("VRFY " + c.arg);
          } else {
            events_.push_back("OTHER");
          }
        },
        std::get<Command>(r));
  }

  ParseOptions options_;
  DataReader reader_{DataLimits{.max_message_size = 1 << 20, .max_line_length = 1000}};
  bool in_data_ = false;
  std::string buffer_;
  std::vector<std::string> events_;
};

std::vector<std::string> run_whole(std::string_view stream) {
  MiniSession s;
  s.receive(stream);
  return s.events();
}

void expect_split_invariant(std::string_view stream) {
  const auto whole = run_whole(stream);
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    MiniSession s;
    s.receive(stream.substr(0, i));
    s.receive(stream.substr(i));
    ASSERT_EQ(s.events(), whole) << "cut at " << i;
  }
  MiniSession bytewise;
  for (char c : stream) bytewise.receive(std::string_view(&c, 1));
  ASSERT_EQ(bytewise.events(), whole) << "byte at a time";
}

// RFC 5321 Appendix D.1, the client's side, sent in one pipelined burst.
const std::string kD1 =
    "EHLO bar.com\r\n"
    "MAIL FROM:<Smith@bar.com>\r\n"
    "RCPT TO:<Jones@foo.com>\r\n"
    "RCPT TO:<Green@foo.com>\r\n"
    "RCPT TO:<Brown@foo.com>\r\n"
    "DATA\r\n"
    "Blah blah blah...\r\n"
    "...etc. etc. etc.\r\n"
    ".\r\n"
    "QUIT\r\n";

TEST(SmtpTranscript, AppendixD1) {
  std::vector<std::string> expected = {"EHLO bar.com",       "MAIL Smith@bar.com",
                                       "RCPT Jones@foo.com", "RCPT Green@foo.com",
                                       "RCPT Brown@foo.com", "DATA",
                                       "MESSAGE 37",         "QUIT"};
  EXPECT_EQ(run_whole(kD1), expected);  // "Blah blah blah...\r\n" + "..etc. etc. etc.\r\n" = 19 + 18
  expect_split_invariant(kD1);
}

TEST(SmtpTranscript, AppendixD2Aborted) {
  std::string d2 =
      "EHLO bar.com\r\nMAIL FROM:<Smith@bar.com>\r\nRCPT TO:<Jones@foo.com>\r\nRCPT TO:<Green@foo.com>\r\n"
      "RSET\r\nQUIT\r\n";
  EXPECT_EQ(run_whole(d2),
            (std::vector<std::string>{"EHLO bar.com", "MAIL Smith@bar.com", "RCPT Jones@foo.com",
                                      "RCPT Green@foo.com", "RSET", "QUIT"}));
}

TEST(SmtpTranscript, AppendixD4VerifyAndSend) {
  std::string d4 =
      "EHLO bar.com\r\nVRFY Crispin\r\nMAIL FROM:<EAK@bar.com>\r\nRCPT TO:<Admin.MRC@foo.com>\r\nDATA\r\n"
      "Blah blah blah...\r\n...etc. etc. etc.\r\n.\r\nQUIT\r\n";
  EXPECT_EQ(run_whole(d4),
            (std::vector<std::string>{"EHLO bar.com", "VRFY Crispin", "MAIL EAK@bar.com",
                                      "RCPT Admin.MRC@foo.com", "DATA", "MESSAGE 37", "QUIT"}));
  expect_split_invariant(d4);
}

TEST(SmtpTranscript, SmuggledSecondMessageIsNotExecuted) {
  for (std::string_view fake : {"\n.\n", "\r\n.\n", "\n.\r\n", "\r.\r", "\r.\r\n"}) {
    std::string stream =
        "EHLO attacker.example\r\nMAIL FROM:<a@attacker.example>\r\nRCPT TO:<b@victim.example>\r\n"
        "DATA\r\nSubject: one\r\n\r\nfirst" +
        std::string(fake) +
        "MAIL FROM:<ceo@victim.example>\r\nRCPT TO:<b@victim.example>\r\nDATA\r\n"
        "Subject: forged\r\n\r\nsecond\r\n.\r\nQUIT\r\n";
    SCOPED_TRACE(::testing::PrintToString(std::string(fake)));
    EXPECT_EQ(run_whole(stream),
              (std::vector<std::string>{"EHLO attacker.example", "MAIL a@attacker.example",
                                        "RCPT b@victim.example", "DATA", "REJECT 550", "QUIT"}));
    expect_split_invariant(stream);
  }
}

TEST(SmtpTranscript, PipelinedTransactionsAfterData) {
  std::string stream =
      "EHLO c.example\r\nMAIL FROM:<> SMTPUTF8\r\nRCPT TO:<j\xC3\xB6rg@x.example>\r\nDATA\r\nhi\r\n.\r\n"
      "MAIL FROM:<a@c.example>\r\nRCPT TO:<j\xC3\xB6rg@x.example>\r\nRCPT "
      "TO:<Postmaster>\r\nDATA\r\n..\r\n.\r\n"
      "QUIT\r\n";
  EXPECT_EQ(run_whole(stream),
            (std::vector<std::string>{"EHLO c.example", "MAIL ", "RCPT j\xC3\xB6rg@x.example", "DATA",
                                      "MESSAGE 4", "MAIL a@c.example", "ERROR 553", "RCPT Postmaster", "DATA",
                                      "MESSAGE 3", "QUIT"}));
  expect_split_invariant(stream);
}

}  // namespace
}  // namespace roost::smtp
