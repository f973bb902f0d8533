// RFC 9051 §7.5.2 (ENVELOPE, BODY, BODYSTRUCTURE, BODY[section]) and §6.4.5 (section
// specifiers), with RFC 3501 §7.4.2 / §6.4.5 for IMAP4rev1 clients.
#include "imapd/protocol/render.hpp"

#include <algorithm>

#include "common/mail/header.hpp"
#include "common/mail/text.hpp"

namespace roost::imap {
namespace {

// --- IMAP strings (RFC 9051 §4.3) ----------------------------------------------------------------

bool needs_literal(std::string_view s, bool utf8) {
    bool eight_bit = false;
    for (unsigned char c : s) {
        if (c == '\r' || c == '\n') return true;
        if (c >= 0x80) eight_bit = true;
    }
    // RFC 9051 §9 QUOTED-CHAR admits UTF8-2/3/4 only; IMAP4rev1 quoted strings are 7-bit (RFC 3501
    // §4.3). Raw 8-bit bytes therefore travel in literals.
    if (eight_bit) return !utf8 || !mail::is_valid_utf8(s);
    return false;
}

void append_string(std::string& out, std::string_view s, bool utf8) {
    std::string without_nul;
    if (s.find('\0') != std::string_view::npos) {
        // Deviation: no IMAP string can carry NUL (CHAR8 is %x01-ff), so it is dropped.
        without_nul.reserve(s.size());
        for (char c : s)
            if (c != '\0') without_nul.push_back(c);
        s = without_nul;
    }
    if (needs_literal(s, utf8)) {
        out += '{';
        out += std::to_string(s.size());
        out += "}\r\n";
        out += s;
        return;
    }
    // quoted = DQUOTE *QUOTED-CHAR DQUOTE; '"' and '\\' are escaped. Copied in runs, not byte by byte.
    out += '"';
    std::size_t run = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '"' || s[i] == '\\') {
            out.append(s, run, i - run);
            out += '\\';
            run = i;
        }
    }
    out.append(s, run, std::string_view::npos);
    out += '"';
}

void append_nstring(std::string& out, std::string_view s, bool utf8) {
    if (s.empty())
        out += "NIL";
    else
        append_string(out, s, utf8);
}

// --- ENVELOPE --------------------------------------------------------------------------------------

// RFC 9051 §7.5.2: address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"; a NIL host
// marks group syntax, so an ordinary address without a domain gets "" rather than NIL.
void append_address(std::string& out, const mail::Address& a, bool utf8) {
    if (a.group_end) {
        out += "(NIL NIL NIL NIL)";
        return;
    }
    out += '(';
    if (a.group_start) {
        out += "NIL NIL ";
        append_string(out, a.mailbox, utf8);
        out += " NIL)";
        return;
    }
    append_nstring(out, a.name, utf8);
    out += ' ';
    append_nstring(out, a.route, utf8);
    out += ' ';
    append_string(out, a.mailbox, utf8);
    out += ' ';
    append_string(out, a.host, utf8);
    out += ')';
}

void append_address_list(std::string& out, const std::vector<mail::Address>& list, bool utf8) {
    if (list.empty()) {
        out += "NIL";
        return;
    }
    out += '(';
    for (const auto& a : list) append_address(out, a, utf8);
    out += ')';
}

void append_envelope(std::string& out, const mail::Envelope& e, bool utf8) {
    out += '(';
    append_nstring(out, e.date, utf8);
    out += ' ';
    append_nstring(out, e.subject, utf8);
    out += ' ';
    append_address_list(out, e.from, utf8);
    out += ' ';
    // RFC 9051 §7.5.2: sender and reply-to default to from. The parser already copies them; doing it
    // again here keeps envelopes built elsewhere (tests, older blobs) correct.
    append_address_list(out, e.sender.empty() ? e.from : e.sender, utf8);
    out += ' ';
    append_address_list(out, e.reply_to.empty() ? e.from : e.reply_to, utf8);
    out += ' ';
    append_address_list(out, e.to, utf8);
    out += ' ';
    append_address_list(out, e.cc, utf8);
    out += ' ';
    append_address_list(out, e.bcc, utf8);
    out += ' ';
    append_nstring(out, e.in_reply_to, utf8);
    out += ' ';
    append_nstring(out, e.message_id, utf8);
    out += ')';
}

// --- BODY / BODYSTRUCTURE --------------------------------------------------------------------------

// body-fld-param. `default_charset`: RFC 2045 §5.2 us-ascii for text/* without one (Dovecot adds it
// after the written parameters).
void append_params(std::string& out, const mail::Params& params, bool default_charset, bool utf8) {
    bool need_charset = default_charset && !mail::find_param(params, "charset");
    if (params.empty() && !need_charset) {
        out += "NIL";
        return;
    }
    out += '(';
    bool first = true;
    for (const auto& [name, value] : params) {
        if (!first) out += ' ';
        first = false;
        append_string(out, name, utf8);
        out += ' ';
        append_string(out, value, utf8);
    }
    if (need_charset) {
        if (!first) out += ' ';
        out += "\"charset\" \"us-ascii\"";
    }
    out += ')';
}

void append_disposition(std::string& out, const mail::Part& p, bool utf8) {
    if (p.disposition.empty()) {
        out += "NIL";
        return;
    }
    out += '(';
    append_string(out, p.disposition, utf8);
    out += ' ';
    append_params(out, p.disposition_params, false, utf8);
    out += ')';
}

void append_language(std::string& out, const std::vector<std::string>& language, bool utf8) {
    if (language.empty()) {
        out += "NIL";
        return;
    }
    out += '(';
    for (size_t i = 0; i < language.size(); ++i) {
        if (i) out += ' ';
        append_string(out, language[i], utf8);
    }
    out += ')';
}

// RFC 9051 §9 body-type-mpart requires 1*body: an empty multipart shows one empty text/plain part
// (as Dovecot does).
void append_empty_text(std::string& out, bool extended) {
    out += "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0";
    if (extended) out += " NIL NIL NIL NIL";
    out += ')';
}

// Recursion depth is bounded by ParseLimits::max_depth (each level is one multipart or one
// message/rfc822 and its embedded message).
void append_body(std::string& out, const mail::Part& p, bool extended, bool utf8) {
    out += '(';
    if (p.is_multipart()) {
        if (p.children.empty()) append_empty_text(out, extended);
        for (const auto& c : p.children) append_body(out, c, extended, utf8);
        out += ' ';
        append_string(out, p.subtype, utf8);
        if (extended) {
            out += ' ';
            append_params(out, p.params, false, utf8);
            out += ' ';
            append_disposition(out, p, utf8);
            out += ' ';
            append_language(out, p.language, utf8);
            out += ' ';
            append_nstring(out, p.location, utf8);
        }
        out += ')';
        return;
    }
    const bool text = p.type == "text";
    // A message/rfc822 whose body could not be parsed in place (base64-encoded, over the limits) has
    // no embedded message and goes out as a basic part, as Dovecot does.
    const bool message = p.is_message() && p.children.size() == 1;
    append_string(out, p.type, utf8);
    out += ' ';
    append_string(out, p.subtype, utf8);
    out += ' ';
    append_params(out, p.params, text, utf8);
    out += ' ';
    append_nstring(out, p.id, utf8);
    out += ' ';
    append_nstring(out, p.description, utf8);
    out += ' ';
    append_string(out, p.encoding.empty() ? std::string("7bit") : mail::to_lower(p.encoding), utf8);
    out += ' ';
    out += std::to_string(p.body_size);
    if (message) {
        out += ' ';
        append_envelope(out, *p.envelope, utf8);
        out += ' ';
        append_body(out, p.children[0], extended, utf8);
        out += ' ';
        out += std::to_string(p.body_lines);
    } else if (text) {
        out += ' ';
        out += std::to_string(p.body_lines);
    }
    if (extended) {
        out += ' ';
        append_nstring(out, p.md5, utf8);
        out += ' ';
        append_disposition(out, p, utf8);
        out += ' ';
        append_language(out, p.language, utf8);
        out += ' ';
        append_nstring(out, p.location, utf8);
    }
    out += ')';
}

// --- sections --------------------------------------------------------------------------------------

SectionData empty_section() {
    SectionData d;
    d.use_synthesized = true;
    return d;
}

SectionData range_section(uint64_t offset, uint64_t length) {
    SectionData d;
    if (length) d.ranges.push_back({offset, length});
    return d;
}

// The entity whose header / text HEADER, HEADER.FIELDS and TEXT address: the message itself for an
// empty part path, else the message embedded in a message/rfc822 (or message/global) part.
// nullptr: no such part, or the part is not a message (RFC 9051 §6.4.5 only allows these
// specifiers after a part number that refers to a MESSAGE/RFC822 or MESSAGE/GLOBAL part).
const mail::Part* message_entity(const mail::ParsedMessage& m, const Section& s) {
    if (s.part.empty()) return &m.root;
    const mail::Part* p = mail::find_section(m.root, s.part);
    if (!p || !p->is_message() || p->children.size() != 1) return nullptr;
    return &p->children[0];
}

bool is_header_fields(const Section& s) {
    return s.text == Section::Text::HeaderFields || s.text == Section::Text::HeaderFieldsNot;
}

// RFC 9051 §6.4.5: HEADER.FIELDS keeps the listed fields, HEADER.FIELDS.NOT the others, matching
// names case-insensitively; the result ends with the blank line.
std::string filter_header(std::string_view block, const std::vector<std::string>& names, bool keep_listed) {
    std::string out;
    for (const auto& f : mail::split_header_fields(block)) {
        bool listed = std::any_of(names.begin(), names.end(),
                                  [&](const std::string& n) { return mail::iequals(n, f.name); });
        if (listed != keep_listed) continue;
        std::string_view bytes = block.substr(f.offset, f.size);
        out += bytes;
        if (bytes.empty() || bytes.back() != '\n') out += "\r\n";
    }
    out += "\r\n";
    return out;
}

bool atom_safe(std::string_view s) {
    if (s.empty()) return false;
    for (unsigned char c : s) {
        if (c <= 0x20 || c >= 0x7f) return false;
        switch (c) {
            case '(': case ')': case '{': case '%': case '*': case '"': case '\\': case ']':
                return false;
            default:
                break;
        }
    }
    return true;
}

}  // namespace

std::string render_envelope(const mail::Envelope& envelope, bool utf8) {
    std::string out;
    append_envelope(out, envelope, utf8);
    return out;
}

std::string render_body_structure(const mail::Part& part, bool extended, bool utf8) {
    std::string out;
    append_body(out, part, extended, utf8);
    return out;
}

std::uint64_t SectionData::size() const noexcept {
    if (use_synthesized) return synthesized.size();
    std::uint64_t n = 0;
    for (const auto& r : ranges) n += r.length;
    return n;
}

std::string SectionData::materialize(std::string_view raw_message) const {
    if (use_synthesized) return synthesized;
    std::string out;
    for (const auto& r : ranges) {
        if (r.offset >= raw_message.size()) continue;
        out += raw_message.substr(r.offset, r.length);
    }
    return out;
}

std::optional<ByteRange> header_block_range(const mail::ParsedMessage& message, const Section& section) {
    if (!is_header_fields(section)) return std::nullopt;
    const mail::Part* e = message_entity(message, section);
    if (!e) return std::nullopt;
    return ByteRange{e->header_offset, e->header_size};
}

std::optional<SectionData> resolve_section(const mail::ParsedMessage& message, const Section& section,
                                           std::string_view header_block) {
    const mail::Part& root = message.root;
    switch (section.text) {
        case Section::Text::None: {
            if (section.part.empty()) return range_section(0, root.body_offset + root.body_size);
            const mail::Part* p = mail::find_section(root, section.part);
            if (!p) return empty_section();
            return range_section(p->body_offset, p->body_size);
        }
        case Section::Text::Mime: {
            if (section.part.empty()) return std::nullopt;  // not in the grammar
            const mail::Part* p = mail::find_section(root, section.part);
            if (!p) return empty_section();
            return range_section(p->header_offset, p->header_size);
        }
        case Section::Text::Header: {
            const mail::Part* e = message_entity(message, section);
            if (!e) return empty_section();
            return range_section(e->header_offset, e->header_size);
        }
        case Section::Text::Text: {
            const mail::Part* e = message_entity(message, section);
            if (!e) return empty_section();
            return range_section(e->body_offset, e->body_size);
        }
        case Section::Text::HeaderFields:
        case Section::Text::HeaderFieldsNot: {
            const mail::Part* e = message_entity(message, section);
            if (!e) return empty_section();
            if (header_block.size() != e->header_size) return std::nullopt;
            SectionData d;
            d.use_synthesized = true;
            d.synthesized = filter_header(header_block, section.fields,
                                          section.text == Section::Text::HeaderFields);
            return d;
        }
    }
    return std::nullopt;
}

SectionData apply_partial(const SectionData& data, const Partial& partial) {
    SectionData out;
    if (data.use_synthesized) {
        out.use_synthesized = true;
        if (partial.offset < data.synthesized.size())
            out.synthesized = data.synthesized.substr(partial.offset, partial.length);
        return out;
    }
    std::uint64_t skip = partial.offset, want = partial.length;
    for (const auto& r : data.ranges) {
        if (want == 0) break;
        if (skip >= r.length) {
            skip -= r.length;
            continue;
        }
        std::uint64_t take = std::min(r.length - skip, want);
        out.ranges.push_back({r.offset + skip, take});
        want -= take;
        skip = 0;
    }
    if (out.ranges.empty()) out.use_synthesized = true;  // empty content
    return out;
}

std::optional<BinarySource> binary_source(const mail::ParsedMessage& message, std::span<const std::uint32_t> part) {
    using E = BinarySource::Encoding;
    BinarySource src;
    if (part.empty()) {
        src.range = {0, message.root.body_offset + message.root.body_size};
        return src;
    }
    const mail::Part* p = mail::find_section(message.root, part);
    if (!p) return std::nullopt;
    src.range = {p->body_offset, p->body_size};
    if (p->is_multipart() || p->is_message()) return src;  // RFC 2045 §6.4: composites are never encoded
    src.text = p->type == "text";
    // RFC 2045 §6.1: 7bit, 8bit and binary are identity encodings; x-token encodings we cannot undo.
    const std::string& enc = p->encoding;
    if (enc.empty() || enc == "7BIT" || enc == "8BIT" || enc == "BINARY") src.encoding = E::Identity;
    else if (enc == "BASE64") src.encoding = E::Base64;
    else if (enc == "QUOTED-PRINTABLE") src.encoding = E::QuotedPrintable;
    else src.encoding = E::Unknown;
    return src;
}

std::optional<std::string> decode_binary(const BinarySource& source, std::string_view body) {
    using E = BinarySource::Encoding;
    std::string out;
    switch (source.encoding) {
        case E::Identity: out.assign(body); break;
        case E::Base64: out = mail::decode_base64(body); break;
        case E::QuotedPrintable: out = mail::decode_quoted_printable(body); break;
        case E::Unknown: return std::nullopt;
    }
    if (!source.text) return out;
    // RFC 9051 §7.5.2: textual sections always go out with CRLF line ends, whatever was stored.
    std::string crlf;
    crlf.reserve(out.size() + out.size() / 32);
    for (std::size_t i = 0; i < out.size(); ++i) {
        char c = out[i];
        if (c == '\r') {
            crlf += "\r\n";
            if (i + 1 < out.size() && out[i + 1] == '\n') ++i;
        } else if (c == '\n') {
            crlf += "\r\n";
        } else {
            crlf += c;
        }
    }
    return crlf;
}

std::string render_binary_name(std::span<const std::uint32_t> part, std::optional<Partial> partial, bool size) {
    std::string out = size ? "BINARY.SIZE[" : "BINARY[";
    for (std::size_t i = 0; i < part.size(); ++i) {
        if (i) out += '.';
        out += std::to_string(part[i]);
    }
    out += ']';
    if (partial) out += "<" + std::to_string(partial->offset) + ">";  // RFC 9051 §7.5.2: origin octet only
    return out;
}

std::string render_fetch_section_name(const Section& section, std::optional<Partial> partial) {
    std::string out = "BODY[";
    for (size_t i = 0; i < section.part.size(); ++i) {
        if (i) out += '.';
        out += std::to_string(section.part[i]);
    }
    const char* name = nullptr;
    switch (section.text) {
        case Section::Text::None: break;
        case Section::Text::Header: name = "HEADER"; break;
        case Section::Text::HeaderFields: name = "HEADER.FIELDS"; break;
        case Section::Text::HeaderFieldsNot: name = "HEADER.FIELDS.NOT"; break;
        case Section::Text::Text: name = "TEXT"; break;
        case Section::Text::Mime: name = "MIME"; break;
    }
    if (name) {
        if (!section.part.empty()) out += '.';
        out += name;
    }
    if (is_header_fields(section)) {
        out += " (";
        for (size_t i = 0; i < section.fields.size(); ++i) {
            if (i) out += ' ';
            if (atom_safe(section.fields[i]))
                out += section.fields[i];
            else
                append_string(out, section.fields[i], false);
        }
        out += ')';
    }
    out += ']';
    if (partial) {
        out += '<';
        out += std::to_string(partial->offset);
        out += '>';
    }
    return out;
}

}  // namespace roost::imap
