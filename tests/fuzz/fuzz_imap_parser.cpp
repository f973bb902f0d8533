// libFuzzer entry point for the IMAP command reader (imapd/protocol/parser.hpp) and modified UTF-7.
//
// Input: byte 0 selects options (UTF-8 mode, LITERAL+, small or default limits); byte 1 seeds the chunking;
// the rest is client bytes. The bytes are fed to a CommandReader in pseudo-random chunks, answering every
// NeedContinuation by feeding on, and also all at once.
// Invariants checked (abort on violation): no crash/UB/exception; feed() never claims more than it was given
// and NeedMore means everything was consumed; no event loop without progress; memory held stays within
// max_command + max_line (bounded); a refused literal is never asked for; failures carry a printable tag and a
// one-line message; parsed commands respect the limits (APPEND message size, search depth, valid UTF-8
// mailbox names); the event stream does not depend on how the input was split; a mUTF-7 string that decodes
// re-encodes to itself (decoding is strict, so only canonical forms decode).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "imapd/protocol/mutf7.hpp"
#include "imapd/protocol/parser.hpp"

namespace {

using namespace roost::imap;

void require(bool ok) {
    if (!ok) std::abort();
}

int depth(const SearchKeyPtr& k) {
    if (!k) return 0;
    int d = 0;
    for (const auto& c : k->children) d = std::max(d, depth(c));
    return d + 1;
}

void check_mailbox(const std::string& name) { require(is_valid_utf8(name)); }

void check_command(const Command& cmd, const ParserLimits& limits) {
    const std::string& tag = command_tag(cmd);
    require(!tag.empty());
    for (char c : tag) require(c > 0x20 && c < 0x7f && c != '+');
    std::visit(
        [&](const auto& c) {
            if constexpr (requires { c.mailbox; }) check_mailbox(c.mailbox);
            if constexpr (requires { c.message; }) require(c.message.size() <= limits.max_literal);
            if constexpr (requires { c.key; }) {
                require(c.key != nullptr);
                require(depth(c.key) <= kMaxSearchDepth + 2);
            }
        },
        cmd);
}

void check_failure(const ParseFailure& f) {
    require(!f.tag.empty());
    for (char c : f.tag) require(c > 0x20 && c < 0x7f);
    require(!f.message.empty());
    for (char c : f.message) require(c >= 0x20 && c < 0x7f);
    require(f.kind == ParseFailure::Bad || f.kind == ParseFailure::TooBig || f.kind == ParseFailure::BadCharset);
}

std::string summary(const ReadEvent& e) {
    if (auto* c = std::get_if<NeedContinuation>(&e)) return "+" + std::to_string(c->size);
    if (auto* f = std::get_if<ParseFailure>(&e)) return "F" + f->tag + std::to_string(f->kind) + (f->fatal ? "!" : "");
    if (auto* p = std::get_if<ParsedCommand>(&e)) return "C" + command_tag(p->command) + command_name(p->command);
    return "";
}

struct Rng {
    std::uint32_t state;
    std::uint32_t next() {
        state = state * 1103515245u + 12345u;
        return state >> 8;
    }
};

// Feeds everything; returns the event summaries. Stops after a fatal failure (the session would close).
std::vector<std::string> drive(std::string_view data, ParserLimits limits, ParserOptions options, Rng* rng,
                               bool allow_reset) {
    CommandReader reader(limits, options);
    std::vector<std::string> events;
    std::size_t off = 0;
    int idle = 0;
    while (off < data.size()) {
        std::size_t chunk = rng ? 1 + rng->next() % 64 : data.size();
        std::string_view piece = data.substr(off, std::min(chunk, data.size() - off));
        auto [used, event] = reader.feed(piece);
        require(used <= piece.size());
        require(reader.buffered() <= limits.max_command + limits.max_line + 64);
        off += used;
        if (std::holds_alternative<NeedMore>(event)) {
            require(used == piece.size());
            continue;
        }
        idle = used == 0 ? idle + 1 : 0;
        require(idle < 4);
        events.push_back(summary(event));
        if (auto* c = std::get_if<NeedContinuation>(&event)) {
            require(c->size <= limits.max_literal);
            if (allow_reset && rng && rng->next() % 8 == 0) reader.reset();
        } else if (auto* f = std::get_if<ParseFailure>(&event)) {
            check_failure(*f);
            if (f->fatal) break;
        } else {
            check_command(std::get<ParsedCommand>(event).command, limits);
        }
    }
    return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    if (size < 2) return 0;
    const std::uint8_t mode = bytes[0];
    Rng rng{bytes[1] * 2654435761u + 1};
    std::string_view data(reinterpret_cast<const char*>(bytes + 2), size - 2);

    ParserOptions options;
    options.utf8 = mode & 1;
    options.literal_plus = !(mode & 2);
    ParserLimits limits;
    if (mode & 4) {
        limits.max_line = 64;
        limits.max_literal = 256;
        limits.max_command = 1024;
        limits.max_literals_per_command = 4;
        limits.max_string_literal = 32;
    }

    // Split invariance: whole vs. random chunks.
    auto whole = drive(data, limits, options, nullptr, false);
    Rng split_rng = rng;
    auto chunked = drive(data, limits, options, &split_rng, false);
    require(whole == chunked);
    // With the session sometimes refusing literals.
    Rng reset_rng = rng;
    drive(data, limits, options, &reset_rng, true);

    // Second stage directly and the raw line reader.
    auto direct = parse_command(data, options);
    if (auto* p = std::get_if<ParsedCommand>(&direct)) check_command(p->command, limits);
    else check_failure(std::get<ParseFailure>(direct));
    CommandReader lines(limits, options);
    std::string_view rest = data;
    while (!rest.empty()) {
        auto [used, event] = lines.feed_line(rest);
        require(used <= rest.size());
        if (std::holds_alternative<NeedMore>(event)) require(used == rest.size());
        if (auto* l = std::get_if<RawLine>(&event)) require(l->text.size() <= limits.max_line);
        if (used == 0 && !std::holds_alternative<NeedMore>(event)) break;
        rest.remove_prefix(used);
    }

    // Modified UTF-7: strict decoding accepts only what the encoder produces.
    if (data.size() <= 256) {
        if (auto decoded = mutf7_decode(data)) {
            require(is_valid_utf8(*decoded));
            require(mutf7_encode(*decoded) == data);
        }
        if (is_valid_utf8(data)) require(mutf7_decode(mutf7_encode(data)) == std::string(data));
    }
    return 0;
}
