// The EHLO reply (RFC 5321 §4.1.1.1) and the parser options that follow from what it advertises.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtpd/protocol/command.hpp"

namespace roost::smtp {

// Which extensions to advertise. The session builds one per phase: e.g. STARTTLS only before TLS,
// AUTH only after it (RFC 3207 §4.2: the EHLO list is asked again after TLS).
struct Extensions {
  bool pipelining = true;                    // RFC 2920
  std::optional<std::uint64_t> size;         // RFC 1870: "SIZE n" (0 = no fixed limit); nullopt: not offered
  bool eightbitmime = true;                  // RFC 6152
  bool smtputf8 = true;                      // RFC 6531
  bool enhanced_status_codes = true;         // RFC 2034
  bool starttls = false;                     // RFC 3207
  std::vector<std::string> auth_mechanisms;  // RFC 4954: "AUTH PLAIN LOGIN"; empty: not offered
  bool chunking = true;                      // RFC 3030
  bool dsn = true;                           // RFC 3461
  // BINARYMIME (RFC 3030) is never offered: the store and the outbound DATA path are not binary-clean.
};

// The keyword lines, in a stable order, e.g. {"PIPELINING", "SIZE 10485760", "8BITMIME", ...}.
std::vector<std::string> ehlo_keywords(const Extensions& extensions);

// The whole EHLO reply: "250-<greeting>\r\n250-PIPELINING\r\n...250 DSN\r\n".
// RFC 5321 §4.1.1.1: the first line carries the server's name; no enhanced codes (RFC 2034 §3).
std::string format_ehlo_reply(std::string_view greeting, const Extensions& extensions);

// Parser options matching what was advertised (unadvertised parameters answer 555), with the
// command-line limit raised by each extension's allowance:
// RFC 5321 §4.5.3.1.4 512; RFC 1870 §3 +26 (SIZE); RFC 3461 §5.4 +530 (DSN, of which the RCPT
// ORCPT/NOTIFY part is the larger, covering MAIL's RET+ENVID); RFC 4954 §5 +500 (AUTH=);
// RFC 6531 §3.4 +10 (SMTPUTF8). The result is rounded up generously to 2048, because real
// clients exceed the sums slightly (e.g. several parameters with long values).
ParseOptions parse_options_for(const Extensions& extensions, bool smtputf8_transaction = false);

}  // namespace roost::smtp
