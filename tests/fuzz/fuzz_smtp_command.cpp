// libFuzzer entry point for the SMTP command parser (smtpd/protocol/command.hpp).
//
// Input: the first byte selects ParseOptions bits (which extensions are on, SMTPUTF8 transaction,
// small or large line limit); the rest is one command line. Also drives parse_sasl_response.
// Invariants checked (abort on violation): no crash/UB/exception; errors carry a 5xx code and an
// enhanced code, and format to one reply line within 512 octets; parsed paths respect the
// RFC 5321 §4.5.3.1 limits, non-literal domains always canonicalise, 8-bit addresses only appear
// with SMTPUTF8; a line containing CR, LF or NUL never parses.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "smtpd/protocol/command.hpp"
#include "smtpd/protocol/reply.hpp"

namespace {

using namespace roost::smtp;

void require(bool ok) {
  if (!ok) std::abort();
}

bool ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

void check_error(const ParseError& e) {
  require(e.code >= 500 && e.code <= 555);
  require(!e.enhanced.empty() && e.enhanced[0] == '5');
  std::string line = format_reply(e);
  require(line.size() <= kMaxReplyLineLength);
  require(line.find('\n') == line.size() - 1 && line.find('\r') == line.size() - 2);
}

void check_path(const Path& p, bool utf8_ok) {
  if (p.null) {
    require(p.local_part.empty() && p.domain.empty() && p.source_route.empty());
    return;
  }
  require(!p.local_part.empty() && p.local_part.size() <= kMaxLocalPartLength);
  if (p.domain.empty()) return;  // RCPT TO:<Postmaster>
  require(p.domain.size() <= kMaxDomainLength);
  require(p.address().size() + 2 <= kMaxPathLength);
  if (!p.domain_is_address_literal) require(canonical_domain(p.domain).has_value());
  if (p.domain_is_address_literal) require(p.domain.front() == '[' && p.domain.back() == ']');
  if (!utf8_ok) require(ascii(p.local_part) && ascii(p.domain));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t bits = data[0];
  ParseOptions o;
  o.size = bits & 0x01;
  o.eightbitmime = bits & 0x02;
  o.smtputf8 = bits & 0x04;
  o.dsn = bits & 0x08;
  o.auth = bits & 0x10;
  o.chunking = bits & 0x20;
  o.smtputf8_transaction = bits & 0x40;
  if (bits & 0x80) o.max_line_length = 4096;
  std::string_view line(reinterpret_cast<const char*>(data + 1), size - 1);

  auto result = parse_command(line, o);
  if (const auto* e = std::get_if<ParseError>(&result)) {
    check_error(*e);
  } else {
    require(line.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos);
    const Command& cmd = std::get<Command>(result);
    if (const auto* m = std::get_if<Mail>(&cmd)) {
      check_path(m->reverse_path, m->params.smtputf8);
      require(m->params.envid.size() <= kMaxEnvidLength);
      if (m->params.smtputf8) require(o.smtputf8);
    } else if (const auto* r = std::get_if<Rcpt>(&cmd)) {
      require(!r->forward_path.null);
      check_path(r->forward_path, o.smtputf8_transaction);
      if (r->postmaster_only) require(r->forward_path.domain.empty());
      if (r->params.notify & kNotifyNever) require(r->params.notify == kNotifyNever);
    } else if (const auto* h = std::get_if<Ehlo>(&cmd)) {
      require(!h->domain.empty() && ascii(h->domain));
    } else if (const auto* a = std::get_if<Auth>(&cmd)) {
      require(!a->mechanism.empty() && a->mechanism.size() <= 20);
    }
  }

  auto sasl = parse_sasl_response(line, o);
  if (const auto* e = std::get_if<ParseError>(&sasl)) check_error(*e);
  (void)canonical_domain(line);
  (void)decode_xtext(line);
  (void)local_part_value(line);
  return 0;
}
