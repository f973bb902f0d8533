// libFuzzer entry point for the POP3 protocol layer (pop3d/protocol/): the command parser, the response
// formatter, and the RETR/TOP streaming (DotStuffer, TopFilter).
//
// Input: the first byte selects the mode (low two bits) and options; the rest is the data.
//   mode 0: one command line through parse_command (bit 2: the RFC 2449 minimum line limit of 255).
//   mode 1: a "stored message" through DotStuffer, cut into pieces at offsets taken from the data itself.
//   mode 2: the same through TopFilter (line count from the second byte) and DotStuffer.
//   mode 3: the data as response text through ok()/err()/challenge().
// Invariants checked (abort on violation): no crash/UB/exception; parse errors carry text and format to
// one line within 512 octets; a parsed command never contains control characters and respects the line
// limit; the wire form of a message does not depend on how it was cut, un-stuffs to the original bytes
// (plus a CRLF only when they did not end with a line end) and contains no terminator line before its
// end; TOP output is a prefix of the message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "pop3d/protocol/command.hpp"
#include "pop3d/protocol/message_stream.hpp"
#include "pop3d/protocol/response.hpp"

namespace {

using namespace roost::pop3;

void require(bool ok) {
    if (!ok) std::abort();
}

bool printable_or_8bit(std::string_view s) {
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f) return false;
    return true;
}

void check_line(const std::string& line) {
    require(line.size() <= kMaxResponseLineLength);
    require(line.size() >= 2 && line.find('\n') == line.size() - 1 && line.find('\r') == line.size() - 2);
}

void fuzz_command(std::string_view line, bool rfc_minimum) {
    ParseOptions o;
    if (rfc_minimum) o.max_line_length = kMinCommandLineLength;
    auto r = parse_command(line, o);
    if (auto* e = std::get_if<ParseError>(&r)) {
        require(!e->text.empty());
        check_line(err(e->text));
        if (e->kind == ParseError::Kind::LineTooLong) require(line.size() + 2 > o.max_line_length);
        return;
    }
    require(line.size() + 2 <= o.max_line_length);
    require(printable_or_8bit(line));
    const Command& c = std::get<Command>(r);
    require(command_name(c) != "?");
    if (auto* u = std::get_if<User>(&c)) require(!u->name.empty() && u->name.find(' ') == std::string::npos);
    if (auto* p = std::get_if<Pass>(&c)) require(!p->password.empty());
    if (auto* a = std::get_if<Auth>(&c)) {
        require(a->mechanism.size() <= 20);
        for (char ch : a->mechanism) require(!(ch >= 'a' && ch <= 'z'));
        if (a->mechanism.empty()) require(!a->initial_response);
    }
}

// Offsets to cut `data` at, derived from its own bytes (deterministic per input).
std::vector<std::size_t> cuts_for(std::string_view data) {
    std::vector<std::size_t> cuts;
    std::size_t pos = 0;
    for (unsigned char c : data.substr(0, 64)) {
        pos += 1 + c % 7;
        if (pos >= data.size()) break;
        cuts.push_back(pos);
    }
    return cuts;
}

std::string wire(std::string_view data, const std::vector<std::size_t>& cuts, std::optional<std::uint64_t> top,
                 std::string* top_out = nullptr) {
    DotStuffer s;
    std::optional<TopFilter> f;
    if (top) f.emplace(*top);
    std::string out;
    std::size_t prev = 0;
    auto feed = [&](std::string_view piece) {
        if (f) piece = f->feed(piece);
        if (top_out) top_out->append(piece);
        s.feed(piece, out);
    };
    for (auto c : cuts) {
        feed(data.substr(prev, c - prev));
        prev = c;
    }
    feed(data.substr(prev));
    s.finish(out);
    return out;
}

void fuzz_stream(std::string_view data, std::optional<std::uint64_t> top) {
    std::string selected;
    const std::string whole = wire(data, {}, top, &selected);
    require(wire(data, cuts_for(data), top) == whole);
    if (top) require(data.substr(0, selected.size()) == selected);
    else selected.assign(data);
    // A client splitting on LF: the first line that is exactly ".\r\n" is the terminator, at the very end.
    std::string back;
    std::size_t pos = 0;
    bool ended = false;
    while (pos < whole.size()) {
        auto lf = whole.find('\n', pos);
        require(lf != std::string::npos);
        std::string_view l(whole.data() + pos, lf + 1 - pos);
        pos = lf + 1;
        if (l == ".\r\n") {
            require(pos == whole.size());
            ended = true;
            break;
        }
        if (l.front() == '.') l.remove_prefix(1);
        back.append(l);
    }
    require(ended);
    if (!selected.empty() && selected.back() != '\n') selected += "\r\n";
    require(back == selected);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t bits = data[0];
    std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    switch (bits & 0x03) {
        case 0: fuzz_command(rest, bits & 0x04); break;
        case 1: fuzz_stream(rest, std::nullopt); break;
        case 2:
            if (rest.empty()) return 0;
            fuzz_stream(rest.substr(1), static_cast<std::uint8_t>(rest[0]) % 8);
            break;
        case 3:
            check_line(ok(rest));
            check_line(err(Code::SysTemp, rest));
            check_line(err(rest));
            require(challenge(rest).find('\n') == challenge(rest).size() - 1);
            break;
    }
    return 0;
}
