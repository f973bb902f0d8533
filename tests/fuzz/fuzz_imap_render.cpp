// libFuzzer target for the IMAP renderers (imapd/protocol/render, search dates, thread subjects):
// parse the input as a message, render ENVELOPE / BODY / BODYSTRUCTURE, resolve every section of
// the part tree (and a few partials). Invariants: the rendered text is one well-formed IMAP
// parenthesised list (balanced, strings quoted or literal with exact counts, 7-bit quoted strings
// unless UTF-8 is on), and every section lies inside the message. Seeds: tests/fuzz/corpus/mime/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/mail/header.hpp"
#include "common/mail/message.hpp"
#include "imapd/protocol/render.hpp"
#include "imapd/protocol/search.hpp"
#include "imapd/protocol/thread.hpp"

namespace {

using namespace roost;

void check(bool ok) {
    if (!ok) std::abort();
}

// One IMAP value made of lists, NIL, numbers, quoted strings and literals (RFC 9051 §9).
void check_value(std::string_view s, bool utf8) {
    check(!s.empty() && s.front() == '(');
    size_t depth = 0, i = 0;
    char prev = 0;  // previous token: '(', ')', ' ' or 'v' (a value)
    while (i < s.size()) {
        char c = s[i];
        if (c != ' ') {
            check(prev == 0 || prev == '(' || prev == ' ' || (prev == ')' && (c == '(' || c == ')')) ||
                  (prev == 'v' && c == ')'));
            prev = (c == '(' || c == ')') ? c : 'v';
        }
        if (c == '(') {
            ++depth;
            ++i;
        } else if (c == ')') {
            check(depth > 0);
            --depth;
            ++i;
            if (depth == 0) check(i == s.size());  // exactly one top-level list
        } else if (c == ' ') {
            check(prev == ')' || prev == 'v');
            prev = ' ';
            ++i;
        } else if (c == '"') {
            size_t b = ++i;
            while (true) {
                check(i < s.size());
                char q = s[i];
                if (q == '"') break;
                check(q != '\r' && q != '\n' && q != '\0');
                if (q == '\\') {
                    check(i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\'));
                    ++i;
                } else if (static_cast<unsigned char>(q) >= 0x80) {
                    check(utf8);
                }
                ++i;
            }
            if (utf8) check(mail::is_valid_utf8(s.substr(b, i - b)));
            ++i;
        } else if (c == '{') {
            size_t n = 0, j = i + 1;
            check(j < s.size() && s[j] >= '0' && s[j] <= '9');
            while (j < s.size() && s[j] >= '0' && s[j] <= '9') n = n * 10 + static_cast<size_t>(s[j++] - '0');
            check(s.substr(j, 3) == "}\r\n");
            j += 3;
            check(j + n <= s.size());
            check(s.substr(j, n).find('\0') == std::string_view::npos);
            i = j + n;
        } else if (c >= '0' && c <= '9') {
            while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        } else {
            check(s.substr(i, 3) == "NIL");
            i += 3;
        }
    }
    check(depth == 0);
}

void check_section(std::string_view raw, const mail::ParsedMessage& m, const imap::Section& section) {
    std::string block;
    if (auto r = imap::header_block_range(m, section)) {
        check(r->offset + r->length <= raw.size());
        block = std::string(raw.substr(r->offset, r->length));
    }
    auto data = imap::resolve_section(m, section, block);
    if (!data) {
        check(section.text == imap::Section::Text::Mime && section.part.empty());
        return;
    }
    for (const auto& r : data->ranges) check(r.offset + r.length <= raw.size());
    std::string bytes = data->materialize(raw);
    check(bytes.size() == data->size());
    if (section.text == imap::Section::Text::HeaderFields || section.text == imap::Section::Text::HeaderFieldsNot)
        check(bytes.empty() || bytes.size() >= 2);
    for (imap::Partial p : {imap::Partial{0, 10}, imap::Partial{3, 1}, imap::Partial{bytes.size() / 2, 1u << 20}}) {
        imap::SectionData part = imap::apply_partial(*data, p);
        std::string sub = part.materialize(raw);
        check(sub == (p.offset < bytes.size() ? bytes.substr(p.offset, p.length) : std::string()));
    }
    std::string name = imap::render_fetch_section_name(section, imap::Partial{1, 2});
    check(name.rfind("BODY[", 0) == 0 && name.size() >= 9 && name.substr(name.size() - 4) == "]<1>");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view raw(reinterpret_cast<const char*>(data), size);
    static const mail::ParseLimits kSmall{6, 64, 4096, 64};
    mail::ParsedMessage m = mail::parse_message(raw, kSmall);

    for (bool utf8 : {false, true}) {
        check_value(imap::render_envelope(m.envelope, utf8), utf8);
        check_value(imap::render_body_structure(m.root, false, utf8), utf8);
        check_value(imap::render_body_structure(m.root, true, utf8), utf8);
    }

    // Every numeric part path the tree has (bounded), with each section text.
    using T = imap::Section::Text;
    std::vector<std::vector<uint32_t>> paths{{}};
    for (size_t k = 0; k < paths.size() && paths.size() < 64; ++k) {
        for (uint32_t n = 1; n <= 4; ++n) {
            std::vector<uint32_t> p = paths[k];
            p.push_back(n);
            if (mail::find_section(m.root, p)) paths.push_back(std::move(p));
        }
    }
    paths.push_back({9, 9});  // nonexistent
    for (const auto& p : paths) {
        for (T t : {T::None, T::Header, T::Text, T::Mime, T::HeaderFields, T::HeaderFieldsNot}) {
            imap::Section s;
            s.part = p;
            s.text = t;
            if (t == T::HeaderFields || t == T::HeaderFieldsNot) s.fields = {"FROM", "SUBJECT", "CONTENT-TYPE"};
            check_section(raw, m, s);
        }
    }

    // Subject and date handling on the same hostile bytes.
    (void)imap::extract_base_subject(m.envelope.subject);
    (void)imap::extract_base_subject(raw.substr(0, 512));
    (void)imap::parse_rfc5322_date(raw.substr(0, 512));
    imap::SearchMessage sm{};
    sm.seq = 1;
    sm.uid = 1;
    sm.parsed = &m;
    std::vector<imap::SearchMessage> one{sm, sm};
    one[1].seq = one[1].uid = 2;
    std::string threads = imap::thread_response(imap::ThreadAlgorithm::References, one, false);
    check(!threads.empty() && threads.front() == '(' && threads.back() == ')');
    return 0;
}
