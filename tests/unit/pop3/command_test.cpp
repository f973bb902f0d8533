// POP3 command parser (pop3d/protocol/command.hpp): RFC 1939 §3-§7, RFC 2449 §3-§5, RFC 2595 §4, RFC 5034 §4.
#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "pop3d/protocol/command.hpp"

namespace roost::pop3 {
namespace {

Command parse_ok(std::string_view line, ParseOptions o = {}) {
    auto r = parse_command(line, o);
    if (auto* e = std::get_if<ParseError>(&r)) {
        ADD_FAILURE() << "'" << line << "' failed: " << e->text;
        return Noop{};
    }
    return std::get<Command>(r);
}

ParseError parse_err(std::string_view line, ParseOptions o = {}) {
    auto r = parse_command(line, o);
    if (auto* e = std::get_if<ParseError>(&r)) return *e;
    ADD_FAILURE() << "'" << line << "' parsed as " << command_name(std::get<Command>(r));
    return {};
}

template <class T>
T as(std::string_view line) {
    auto c = parse_ok(line);
    EXPECT_TRUE(std::holds_alternative<T>(c)) << line << " parsed as " << command_name(c);
    return std::holds_alternative<T>(c) ? std::get<T>(c) : T{};
}

// ----- RFC 1939 examples -----

TEST(Pop3Command, Rfc1939Examples) {
    EXPECT_EQ(as<User>("USER mrose").name, "mrose");  // §7
    EXPECT_EQ(as<Pass>("PASS secret").password, "secret");
    as<Stat>("STAT");  // §5
    EXPECT_FALSE(as<List>("LIST").msg);
    EXPECT_EQ(as<List>("LIST 2").msg, 2u);
    EXPECT_EQ(as<Retr>("RETR 1").msg, 1u);
    EXPECT_EQ(as<Dele>("DELE 1").msg, 1u);
    as<Noop>("NOOP");
    as<Rset>("RSET");
    as<Quit>("QUIT");
    auto t = as<Top>("TOP 1 10");  // §7
    EXPECT_EQ(t.msg, 1u);
    EXPECT_EQ(t.lines, 10u);
    EXPECT_FALSE(as<Uidl>("UIDL").msg);
    EXPECT_EQ(as<Uidl>("UIDL 2").msg, 2u);
    as<Apop>("APOP mrose c4c9334bac560ecc979e58001b3e22fb");
}

TEST(Pop3Command, ExtensionCommands) {
    as<Capa>("CAPA");  // RFC 2449 §5
    as<Stls>("STLS");  // RFC 2595 §4
    auto a = as<Auth>("AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=");  // RFC 5034 §4
    EXPECT_EQ(a.mechanism, "PLAIN");
    EXPECT_EQ(a.initial_response, "dGVzdAB0ZXN0AHRlc3Q=");
    EXPECT_FALSE(as<Auth>("AUTH LOGIN").initial_response);
    EXPECT_EQ(as<Auth>("AUTH PLAIN =").initial_response, "=");  // empty initial response
    EXPECT_EQ(as<Auth>("auth scram-sha-256").mechanism, "SCRAM-SHA-256");
    auto bare = as<Auth>("AUTH");
    EXPECT_TRUE(bare.mechanism.empty());
    EXPECT_FALSE(bare.initial_response);
}

TEST(Pop3Command, KeywordsAreCaseInsensitive) {
    as<Stat>("stat");
    as<Retr>("ReTr 3");
    as<Top>("top 1 0");
    EXPECT_EQ(as<User>("user Alice@Example.Test").name, "Alice@Example.Test");  // argument case kept
}

TEST(Pop3Command, PassKeepsSpacesAndEightBit) {
    // RFC 1939 §7: "a POP3 server may treat spaces in the argument as part of the password".
    EXPECT_EQ(as<Pass>("PASS correct horse battery").password, "correct horse battery");
    EXPECT_EQ(as<Pass>("PASS  leading").password, " leading");
    EXPECT_EQ(as<Pass>("PASS trailing ").password, "trailing ");
    EXPECT_EQ(as<Pass>("PASS p\xC3\xA4ss").password, "p\xC3\xA4ss");
    EXPECT_EQ(as<User>("USER j\xC3\xB6rg@example.test").name, "j\xC3\xB6rg@example.test");
    EXPECT_EQ(parse_err("PASS").kind, ParseError::Kind::Syntax);
    EXPECT_EQ(parse_err("PASS ").kind, ParseError::Kind::Syntax);
}

TEST(Pop3Command, UserNeedsExactlyOneArgument) {
    EXPECT_EQ(parse_err("USER").kind, ParseError::Kind::Syntax);
    EXPECT_EQ(parse_err("USER a b").kind, ParseError::Kind::Syntax);
    EXPECT_EQ(as<User>("USER  a ").name, "a");  // extra spaces tolerated
}

TEST(Pop3Command, MessageNumbers) {
    EXPECT_EQ(as<Retr>("RETR 0").msg, 0u);  // parses; the session answers "no such message"
    EXPECT_EQ(as<Retr>("RETR 007").msg, 7u);
    EXPECT_EQ(as<Retr>("RETR 4294967295").msg, 4294967295u);
    for (auto bad : {"RETR 4294967296", "RETR 99999999999999999999", "RETR -1", "RETR +1", "RETR 1a", "RETR 0x1",
                     "RETR one", "LIST 1.5", "UIDL -0", "DELE \xC2\xB9"}) {
        auto e = parse_err(bad);
        EXPECT_EQ(e.kind, ParseError::Kind::Syntax) << bad;
        EXPECT_EQ(e.text, "Invalid message number") << bad;
    }
    EXPECT_EQ(parse_err("RETR").text, "Missing message number");
    EXPECT_EQ(parse_err("DELE").text, "Missing message number");
    EXPECT_EQ(parse_err("RETR 1 2").text, "Too many arguments");
    EXPECT_EQ(parse_err("LIST 1 2").text, "Too many arguments");
    EXPECT_EQ(parse_err("UIDL 1 2").text, "Too many arguments");
    EXPECT_EQ(as<List>("LIST  3 ").msg, 3u);
}

TEST(Pop3Command, TopArguments) {
    EXPECT_EQ(as<Top>("TOP 1 0").lines, 0u);
    EXPECT_EQ(as<Top>("TOP 1 18446744073709551615").lines, UINT64_MAX);
    EXPECT_EQ(as<Top>("TOP 1 99999999999999999999999").lines, UINT64_MAX);  // saturates: "all of it"
    EXPECT_EQ(parse_err("TOP").kind, ParseError::Kind::Syntax);
    EXPECT_EQ(parse_err("TOP 1").kind, ParseError::Kind::Syntax);
    EXPECT_EQ(parse_err("TOP 1 2 3").text, "Too many arguments");
    EXPECT_EQ(parse_err("TOP 1 -1").text, "Invalid line count");
    EXPECT_EQ(parse_err("TOP x 1").text, "Invalid message number");
}

TEST(Pop3Command, AuthArguments) {
    EXPECT_EQ(parse_err("AUTH PLAIN a b").text, "Too many arguments");
    EXPECT_EQ(parse_err("AUTH PL@IN").text, "Invalid mechanism name");
    EXPECT_EQ(parse_err("AUTH ABCDEFGHIJKLMNOPQRSTU").text, "Invalid mechanism name");  // 21 > 20 (RFC 4422 §3.1)
    EXPECT_EQ(as<Auth>("AUTH ABCDEFGHIJKLMNOPQRST").mechanism, "ABCDEFGHIJKLMNOPQRST");
}

TEST(Pop3Command, NoArgumentCommandsRefuseArguments) {
    for (auto line : {"STAT 1", "NOOP x", "RSET 1", "QUIT now", "CAPA x", "STLS x"})
        EXPECT_EQ(parse_err(line).kind, ParseError::Kind::Syntax) << line;
    as<Quit>("QUIT ");  // a trailing space is harmless
}

TEST(Pop3Command, UnknownCommands) {
    for (auto line : {"", " ", "XY", "FOOBAR", "HELO x", "EHLO x", " LIST", "LISTX", "LIS", "RETR1", "\xC3\xA4\xC3\xA4"}) {
        auto e = parse_err(line);
        EXPECT_EQ(e.kind, ParseError::Kind::UnknownCommand) << "'" << line << "'";
        EXPECT_EQ(e.text, "Unknown command");  // nothing the client sent is echoed
    }
}

TEST(Pop3Command, ControlCharactersAreRefused) {
    for (std::string line : {std::string("LIST\0" "1", 6), std::string("USER a\rb"), std::string("NOOP\t"),
                             std::string("PASS a\x7f"), std::string("\x1bSTAT"), std::string("PASS x\0y", 8)}) {
        EXPECT_EQ(parse_err(line).kind, ParseError::Kind::BadCharacters);
    }
}

TEST(Pop3Command, LineLengthLimitIncludesCrlf) {
    ParseOptions o;
    o.max_line_length = kMinCommandLineLength;  // RFC 2449 §4: 255 octets including CRLF
    std::string user = "USER " + std::string(kMinCommandLineLength - 2 - 5, 'a');
    ASSERT_EQ(user.size() + 2, kMinCommandLineLength);
    EXPECT_EQ(std::get<User>(parse_ok(user, o)).name.size(), kMinCommandLineLength - 7);
    EXPECT_EQ(parse_err(user + "a", o).kind, ParseError::Kind::LineTooLong);
    EXPECT_EQ(parse_err(user + "a", o).text, "Line too long");
    // The default allows more than the RFC floor (an AUTH PLAIN initial response with long credentials).
    std::string ir = "AUTH PLAIN " + std::string(1000, 'A');
    EXPECT_EQ(std::get<Auth>(parse_ok(ir)).initial_response->size(), 1000u);
}

TEST(Pop3Command, NamesMatchVariantOrder) {
    EXPECT_EQ(command_name(Command{User{}}), "USER");
    EXPECT_EQ(command_name(Command{Top{}}), "TOP");
    EXPECT_EQ(command_name(Command{Uidl{}}), "UIDL");
    for (std::size_t i = 0; i < kCommandNames.size(); ++i) {
        // Every keyword parses to the alternative whose name it is (with arguments where required).
        std::string line(kCommandNames[i]);
        if (line == "USER" || line == "PASS" || line == "APOP") line += " x";
        if (line == "RETR" || line == "DELE") line += " 1";
        if (line == "TOP") line += " 1 1";
        auto c = parse_ok(line);
        EXPECT_EQ(c.index(), i) << line;
    }
    EXPECT_EQ(command_name(99), "?");
}

// Robustness: every prefix and every single-byte mutation of valid commands parses or fails cleanly, and a
// parse error never comes with an empty text.
TEST(Pop3Command, MutationsNeverCrash) {
    const std::string lines[] = {"USER alice@example.test", "PASS a b c", "AUTH PLAIN AGFsaWNlAHB3", "TOP 12 3",
                                 "LIST 4", "UIDL", "RETR 1", "DELE 2", "CAPA", "STLS", "APOP a b"};
    const unsigned char bytes[] = {0, ' ', '\r', '\n', '0', '9', 'a', 'Z', '=', '*', '-', '+', 0x7f, 0x80, 0xff};
    std::size_t count = 0;
    for (const auto& base : lines) {
        for (std::size_t i = 0; i <= base.size(); ++i) {
            auto r = parse_command(std::string_view(base).substr(0, i));
            if (auto* e = std::get_if<ParseError>(&r)) {
                EXPECT_FALSE(e->text.empty());
            }
            for (auto b : bytes) {
                std::string m = base;
                if (i < m.size()) m[i] = static_cast<char>(b);
                else m += static_cast<char>(b);
                auto r2 = parse_command(m);
                if (auto* e = std::get_if<ParseError>(&r2)) {
                    EXPECT_FALSE(e->text.empty());
                }
                ++count;
            }
        }
    }
    EXPECT_GT(count, 1000u);
}

}  // namespace
}  // namespace roost::pop3
