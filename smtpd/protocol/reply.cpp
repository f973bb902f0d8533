// RFC 5321 §4.2 reply formatting.
#include "smtpd/protocol/reply.hpp"

#include "smtpd/protocol/command.hpp"

namespace roost::smtp {
namespace {

// Appends "<code><sep>[<enhanced> ]<text>\r\n", keeping the whole line within 512 octets.
void append_line(std::string& out, int code, char sep, std::string_view enhanced, std::string_view text) {
  // RFC 5321 §4.2: Reply-code is exactly three digits 2-5 / 0-5 / 0-9; anything else is a bug.
  if (code < 200 || code > 599) code = 451;
  std::size_t start = out.size();
  out += std::to_string(code);
  out.push_back(sep);
  if (!enhanced.empty()) {
    out += enhanced;
    if (!text.empty()) out.push_back(' ');
  }
  std::size_t budget = kMaxReplyLineLength - 2;
  for (char ch : text) {
    if (out.size() - start >= budget) break;
    auto u = static_cast<unsigned char>(ch);
    // textstring = 1*(%d09 / %d32-126): no CR/LF (reply injection), no 8-bit (RFC 5321 §4.2).
    out.push_back((u < 0x20 || u >= 0x7F) ? '?' : ch);
  }
  if (out.size() - start > budget) out.resize(start + budget);  // pathological enhanced code
  out += "\r\n";
}

}  // namespace

std::string format_reply(int code, std::string_view enhanced, std::string_view text) {
  std::string out;
  append_line(out, code, ' ', enhanced, text);
  return out;
}

std::string format_reply_lines(int code, std::string_view enhanced, std::span<const std::string> lines) {
  std::string out;
  if (lines.empty()) {
    append_line(out, code, ' ', enhanced, {});
    return out;
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    append_line(out, code, i + 1 == lines.size() ? ' ' : '-', enhanced, lines[i]);
  }
  return out;
}

std::string format_reply(const Reply& reply) { return format_reply(reply.code, reply.enhanced, reply.text); }

std::string format_reply(const ParseError& error) {
  return format_reply(error.code, error.enhanced, error.text);
}

}  // namespace roost::smtp
