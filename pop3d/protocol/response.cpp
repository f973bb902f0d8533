#include "pop3d/protocol/response.hpp"

namespace roost::pop3 {
namespace {

// Appends `text` with control characters and 8-bit bytes replaced, stopping so that `line` plus CRLF fits
// in kMaxResponseLineLength.
void append_text(std::string& line, std::string_view text) {
    for (unsigned char c : text) {
        if (line.size() + 2 >= kMaxResponseLineLength) break;
        line += (c >= 0x20 && c < 0x7F) ? static_cast<char>(c) : '?';
    }
}

std::string status(std::string_view prefix, Code code, std::string_view text) {
    std::string line(prefix);
    auto c = code_text(code);
    if (!c.empty()) {
        line += " [";
        line += c;
        line += ']';
    } else if (!text.empty() && text.front() == '[') {
        // RFC 2449 §8 (RESP-CODES): text starting with "[" would be read as a response code.
        line += " ?";
        text.remove_prefix(1);
    } else if (!text.empty()) {
        line += ' ';
    }
    if (!c.empty() && !text.empty()) line += ' ';
    append_text(line, text);
    line += "\r\n";
    return line;
}

}  // namespace

std::string_view code_text(Code code) {
    switch (code) {
        case Code::None: return {};
        case Code::InUse: return "IN-USE";
        case Code::LoginDelay: return "LOGIN-DELAY";
        case Code::SysTemp: return "SYS/TEMP";
        case Code::SysPerm: return "SYS/PERM";
        case Code::Auth: return "AUTH";
    }
    return {};
}

std::string ok(std::string_view text) { return status("+OK", Code::None, text); }
std::string err(std::string_view text) { return status("-ERR", Code::None, text); }
std::string err(Code code, std::string_view text) { return status("-ERR", code, text); }

std::string challenge(std::string_view base64) {
    // RFC 5034 §4: "+" SP [base64] CRLF. The base64 comes from the SASL layer; keep it on one line anyway.
    std::string line = "+ ";
    for (char c : base64)
        if (c != '\r' && c != '\n') line += c;
    line += "\r\n";
    return line;
}

std::string scan_listing(std::uint32_t msg, std::uint64_t size) {
    return std::to_string(msg) + ' ' + std::to_string(size);
}

std::string unique_id_listing(std::uint32_t msg, std::string_view unique_id) {
    std::string line = std::to_string(msg);
    line += ' ';
    line += unique_id;
    return line;
}

std::string unique_id(std::uint32_t uidvalidity, std::uint32_t uid) {
    return std::to_string(uidvalidity) + '.' + std::to_string(uid);
}

std::string format_capabilities(const Capabilities& caps) {
    // RFC 2449 §5: one capability per line, each within 512 octets, then ".".
    std::string out = "+OK Capability list follows\r\n";
    out += "TOP\r\n";  // RFC 2449 §6.1
    if (caps.user) out += "USER\r\n";  // RFC 2449 §6.2
    out += "UIDL\r\n";        // RFC 2449 §6.8
    out += "RESP-CODES\r\n";  // RFC 2449 §6.4
    out += "AUTH-RESP-CODE\r\n";  // RFC 3206 §6
    out += "PIPELINING\r\n";  // RFC 2449 §6.6
    if (!caps.sasl.empty()) {  // RFC 2449 §6.3, RFC 5034 §5
        std::string line = "SASL";
        for (const auto& m : caps.sasl) {
            if (line.size() + 1 + m.size() + 2 > kMaxResponseLineLength) break;
            line += ' ';
            line += m;
        }
        out += line + "\r\n";
    }
    if (caps.stls) out += "STLS\r\n";  // RFC 2595 §4
    if (!caps.implementation.empty()) {  // RFC 2449 §6.9
        std::string line = "IMPLEMENTATION ";
        append_text(line, caps.implementation);
        out += line + "\r\n";
    }
    out += kEndOfMultiline;
    return out;
}

}  // namespace roost::pop3
