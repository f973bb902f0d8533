// RFC 5321 §4.1.1.1 EHLO keywords.
#include "smtpd/protocol/esmtp.hpp"

#include <algorithm>

#include "smtpd/protocol/reply.hpp"

namespace roost::smtp {

std::vector<std::string> ehlo_keywords(const Extensions& e) {
  std::vector<std::string> out;
  if (e.pipelining) out.emplace_back("PIPELINING");
  if (e.size) out.push_back("SIZE " + std::to_string(*e.size));  // RFC 1870 §4
  if (e.eightbitmime) out.emplace_back("8BITMIME");
  if (e.smtputf8) out.emplace_back("SMTPUTF8");
  if (e.enhanced_status_codes) out.emplace_back("ENHANCEDSTATUSCODES");
  if (e.starttls) out.emplace_back("STARTTLS");
  if (!e.auth_mechanisms.empty()) {
    std::string line = "AUTH";
    for (const std::string& m : e.auth_mechanisms) line += " " + m;
    out.push_back(std::move(line));
  }
  if (e.chunking) out.emplace_back("CHUNKING");
  if (e.dsn) out.emplace_back("DSN");
  return out;
}

std::string format_ehlo_reply(std::string_view greeting, const Extensions& e) {
  std::vector<std::string> lines;
  lines.emplace_back(greeting);
  for (std::string& k : ehlo_keywords(e)) lines.push_back(std::move(k));
  return format_reply_lines(250, "", lines);
}

ParseOptions parse_options_for(const Extensions& e, bool smtputf8_transaction) {
  ParseOptions o;
  o.size = e.size.has_value();
  o.eightbitmime = e.eightbitmime;
  o.binarymime = false;
  o.smtputf8 = e.smtputf8;
  o.dsn = e.dsn;
  o.auth = !e.auth_mechanisms.empty();
  o.chunking = e.chunking;
  o.smtputf8_transaction = smtputf8_transaction;
  std::size_t limit = kMaxCommandLineLength;
  if (o.size) limit += 26;
  if (o.dsn) limit += 530;
  if (o.auth) limit += 500;
  if (o.smtputf8) limit += 10;
  // Any extension present: round up to 2048 (see esmtp.hpp); none: the plain RFC 5321 limit.
  o.max_line_length = limit > kMaxCommandLineLength ? std::max<std::size_t>(limit, 2048) : limit;
  o.max_auth_line_length = kMaxAuthLineLength;
  return o;
}

}  // namespace roost::smtp
