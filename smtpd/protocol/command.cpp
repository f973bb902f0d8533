// RFC 5321 §4.1 command parsing. See command.hpp for the contract.
//
// Decisions (keep them when editing):
// - Paths follow RFC 5321 §4.1.2 strictly: no bare addresses without "<>", no trailing dots, no
//   empty labels, no "a@b@c". What the relay checks need ("%" hacks, quoted "@", source routes,
//   literals) parses and stays visible in `Path` rather than being normalised away.
// - Deviation: one optional SP after "FROM:"/"TO:" is accepted (many clients send it), trailing
//   SPs at the end of a line are ignored, and runs of SP between parameters are accepted.
// - Deviation: "_" is accepted in EHLO/HELO names (common in Windows host names; the name is only
//   informational, RFC 5321 §4.1.4), never in a path's domain.
// - 8-bit bytes are accepted only as well-formed UTF-8 and only inside a path's local part and
//   domain, and then only with SMTPUTF8 (RFC 6531 §3.4). Everything else non-ASCII is a syntax
//   error. Control characters (including NUL, TAB, CR, LF, DEL) anywhere are a syntax error.
#include "smtpd/protocol/command.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>

namespace roost::smtp {
namespace {

ParseError error(int code, std::string_view enhanced, std::string_view text) {
  return ParseError{code, std::string(enhanced), std::string(text)};
}

bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_alnum(unsigned char c) { return is_alpha(c) || is_digit(c); }
bool is_hex_upper(unsigned char c) { return is_digit(c) || (c >= 'A' && c <= 'F'); }
char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char to_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return to_lower(x) == to_lower(y); });
}
bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}
std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), to_upper);
  return out;
}

// RFC 5322 §3.2.3 atext (ASCII part).
bool is_atext(unsigned char c) {
  if (is_alnum(c)) return true;
  static constexpr std::string_view specials = "!#$%&'*+-/=?^_`{|}~";
  return specials.find(static_cast<char>(c)) != std::string_view::npos;
}

// Length of the well-formed UTF-8 sequence starting at s[i] (a non-ASCII lead byte), or 0.
// RFC 3629 §4: no overlongs, no surrogates, nothing above U+10FFFF.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // bounds for the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

enum class PathError { Syntax, TooLong, NotAscii };

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool eof() const { return pos_ >= s_.size(); }
  unsigned char peek() const { return eof() ? 0 : static_cast<unsigned char>(s_[pos_]); }
  bool accept(char c) {
    if (!eof() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  std::size_t pos() const { return pos_; }
  void advance(std::size_t n) { pos_ += n; }
  std::string_view text() const { return s_; }
  std::string_view rest() const { return s_.substr(std::min(pos_, s_.size())); }
  std::string_view slice(std::size_t from) const { return s_.substr(from, pos_ - from); }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

// One UTF-8 sequence at the cursor, if allowed; records that 8-bit data was seen.
bool accept_utf8(Cursor& c, bool& saw_8bit) {
  if (c.eof() || c.peek() < 0x80) return false;
  std::size_t n = utf8_sequence_length(c.text(), c.pos());
  if (n == 0) return false;
  saw_8bit = true;
  c.advance(n);
  return true;
}

// RFC 5321 §4.1.3: IPv4-address-literal = Snum 3("." Snum); Snum = 1*3DIGIT, value 0-255.
bool valid_ipv4(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t start = i;
    int value = 0;
    while (i < s.size() && is_digit(static_cast<unsigned char>(s[i])) && i - start < 3) {
      value = value * 10 + (s[i] - '0');
      ++i;
    }
    if (i == start || value > 255) return false;
    ++parts;
    if (i == s.size()) return parts == 4;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
}

// RFC 5321 §4.1.3: IPv6-addr. inet_pton() implements RFC 4291 text forms (full, compressed,
// embedded IPv4), which is the grammar RFC 5321 transcribes; zone ids are rejected by it.
bool valid_ipv6(std::string_view s) {
  if (s.empty() || s.size() > 45) return false;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (!(std::isxdigit(c) || c == ':' || c == '.')) return false;
  }
  std::string copy(s);
  std::array<unsigned char, 16> buf{};
  return inet_pton(AF_INET6, copy.c_str(), buf.data()) == 1;
}

// address-literal = "[" ( IPv4 / "IPv6:" IPv6 / General ) "]". General-address-literal needs a
// Standardized-tag registered with IANA; none is, so it is refused.
bool parse_address_literal(Cursor& c) {
  if (!c.accept('[')) return false;
  std::size_t start = c.pos();
  while (!c.eof() && c.peek() != ']') c.advance(1);
  std::string_view inner = c.slice(start);
  if (!c.accept(']')) return false;
  if (istarts_with(inner, "IPv6:")) return valid_ipv6(inner.substr(5));
  return valid_ipv4(inner);
}

// RFC 5321 §4.1.2 Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str];
// RFC 6531 §3.3: sub-domain =/ U-label (approximated as any well-formed UTF-8; IDNA validity is
// checked where the name is looked up, not here). Labels <= 63, names <= 255 octets.
bool parse_domain(Cursor& c, bool underscore_ok, bool& saw_8bit) {
  std::size_t start = c.pos();
  while (true) {
    std::size_t label_start = c.pos();
    bool last_was_hyphen = false;
    bool any = false;
    while (!c.eof()) {
      unsigned char ch = c.peek();
      if (is_alnum(ch) || (underscore_ok && ch == '_')) {
        c.advance(1);
        last_was_hyphen = false;
      } else if (ch == '-' && any) {
        c.advance(1);
        last_was_hyphen = true;
      } else if (ch >= 0x80 && accept_utf8(c, saw_8bit)) {
        last_was_hyphen = false;
      } else {
        break;
      }
      any = true;
    }
    if (!any || last_was_hyphen) return false;
    if (c.pos() - label_start > kMaxLabelLength) return false;
    if (!c.accept('.')) break;
  }
  return c.pos() - start <= kMaxDomainLength;
}

// Local-part = Dot-string / Quoted-string (RFC 5321 §4.1.2, RFC 6531 §3.3 for UTF-8).
bool parse_local_part(Cursor& c, bool& saw_8bit) {
  if (c.accept('"')) {
    while (true) {
      if (c.eof()) return false;
      unsigned char ch = c.peek();
      if (ch == '"') {
        c.advance(1);
        return true;
      }
      if (ch == '\\') {  // quoted-pairSMTP = %d92 %d32-126
        c.advance(1);
        unsigned char q = c.peek();
        if (c.eof() || q < 32 || q > 126) return false;
        c.advance(1);
      } else if (ch >= 32 && ch <= 126) {  // qtextSMTP: 32-33 / 35-91 / 93-126
        c.advance(1);
      } else if (!accept_utf8(c, saw_8bit)) {
        return false;
      }
    }
  }
  // Dot-string = Atom *("." Atom)
  while (true) {
    bool any = false;
    while (!c.eof()) {
      if (is_atext(c.peek())) {
        c.advance(1);
      } else if (!accept_utf8(c, saw_8bit)) {
        break;
      }
      any = true;
    }
    if (!any) return false;
    if (!c.accept('.')) return true;
  }
}

struct PathResult {
  Path path;
  bool saw_8bit = false;
  bool postmaster_only = false;
};

// Path = "<" [ A-d-l ":" ] Mailbox ">"  /  "<>" (reverse-path)  /  "<Postmaster>" (RCPT).
// On success, the cursor is just past the '>'.
std::variant<PathResult, PathError> parse_path(Cursor& c, bool is_reverse) {
  PathResult r;
  std::size_t start = c.pos();
  if (!c.accept('<')) return PathError::Syntax;
  if (c.accept('>')) {
    if (!is_reverse) return PathError::Syntax;
    r.path.null = true;
    return r;
  }
  if (!is_reverse) {  // RFC 5321 §4.1.1.3: "Postmaster" with no domain, case-insensitive
    std::string_view rest = c.rest();
    if (istarts_with(rest, "postmaster>")) {
      r.path.local_part = std::string(rest.substr(0, 10));
      r.postmaster_only = true;
      c.advance(11);
      return r;
    }
  }
  // A-d-l = At-domain *( "," At-domain ); At-domain = "@" Domain. RFC 5321 §4.1.1.3 / App. C.
  if (c.peek() == '@') {
    while (true) {
      if (!c.accept('@')) return PathError::Syntax;
      std::size_t d = c.pos();
      if (c.peek() == '[') {
        if (!parse_address_literal(c)) return PathError::Syntax;
      } else if (!parse_domain(c, false, r.saw_8bit)) {
        return PathError::Syntax;
      }
      r.path.source_route.emplace_back(c.slice(d));
      if (!c.accept(',')) break;
    }
    if (!c.accept(':')) return PathError::Syntax;
  }
  std::size_t lp = c.pos();
  if (!parse_local_part(c, r.saw_8bit)) return PathError::Syntax;
  r.path.local_part = std::string(c.slice(lp));
  if (!c.accept('@')) return PathError::Syntax;
  std::size_t d = c.pos();
  if (c.peek() == '[') {
    if (!parse_address_literal(c)) return PathError::Syntax;
    r.path.domain_is_address_literal = true;
  } else if (!parse_domain(c, false, r.saw_8bit)) {
    return PathError::Syntax;
  }
  r.path.domain = std::string(c.slice(d));
  if (!c.accept('>')) return PathError::Syntax;
  // RFC 5321 §4.5.3.1.1-3
  if (r.path.local_part.size() > kMaxLocalPartLength || r.path.domain.size() > kMaxDomainLength ||
      c.pos() - start > kMaxPathLength) {
    return PathError::TooLong;
  }
  return r;
}

struct Param {
  std::string keyword;  // upper-cased
  std::optional<std::string_view> value;
};

// Mail-parameters / Rcpt-parameters (RFC 5321 §4.1.2):
// esmtp-param = esmtp-keyword ["=" esmtp-value]; esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-");
// esmtp-value = 1*(%d33-60 / %d62-126). Duplicates are refused (RFC 3461 §4, RFC 1870 §6).
std::variant<std::vector<Param>, ParseError> split_params(std::string_view s) {
  std::vector<Param> params;
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == ' ') {
      ++i;
      continue;
    }
    std::size_t end = s.find(' ', i);
    if (end == std::string_view::npos) end = s.size();
    std::string_view token = s.substr(i, end - i);
    i = end;
    std::size_t eq = token.find('=');
    std::string_view kw = token.substr(0, eq);
    if (kw.empty() || !is_alnum(static_cast<unsigned char>(kw[0])) ||
        !std::all_of(kw.begin(), kw.end(),
                     [](char ch) { return is_alnum(static_cast<unsigned char>(ch)) || ch == '-'; })) {
      return error(501, "5.5.4", "Syntax error in parameters");
    }
    Param p{upper(kw), std::nullopt};
    if (eq != std::string_view::npos) {
      std::string_view v = token.substr(eq + 1);
      if (v.empty() || !std::all_of(v.begin(), v.end(), [](char ch) {
            auto u = static_cast<unsigned char>(ch);
            return u >= 33 && u <= 126 && u != '=';
          })) {
        return error(501, "5.5.4", "Syntax error in parameter value");
      }
      p.value = v;
    }
    for (const Param& seen : params) {
      if (seen.keyword == p.keyword) return error(501, "5.5.4", "Duplicate parameter " + p.keyword);
    }
    params.push_back(std::move(p));
  }
  return params;
}

ParseError unsupported(const Param& p) { return error(555, "5.5.4", "Unsupported parameter " + p.keyword); }
ParseError bad_value(const Param& p) {
  return error(501, "5.5.4", "Invalid value for parameter " + p.keyword);
}

std::optional<ParseError> apply_mail_param(const Param& p, MailParams& m, const ParseOptions& o) {
  const std::string& k = p.keyword;
  if (k == "SIZE" && o.size) {  // RFC 1870 §4: size-value = 1*20DIGIT
    if (!p.value || p.value->size() > 20 ||
        !std::all_of(p.value->begin(), p.value->end(), [](char ch) { return is_digit(ch); })) {
      return bad_value(p);
    }
    std::uint64_t v = 0;
    for (char ch : *p.value) {
      auto digit = static_cast<std::uint64_t>(ch - '0');
      if (v > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
        v = std::numeric_limits<std::uint64_t>::max();  // saturate: policy answers 552
        break;
      }
      v = v * 10 + digit;
    }
    m.size = v;
  } else if (k == "BODY" && (o.eightbitmime || o.binarymime)) {  // RFC 6152 §2, RFC 3030 §3
    if (!p.value) return bad_value(p);
    if (iequals(*p.value, "7BIT")) {
      m.body = MailParams::Body::SevenBit;
    } else if (iequals(*p.value, "8BITMIME") && o.eightbitmime) {
      m.body = MailParams::Body::EightBitMime;
    } else if (iequals(*p.value, "BINARYMIME") && o.binarymime) {
      m.body = MailParams::Body::BinaryMime;
    } else {
      return error(555, "5.5.4", "Unsupported BODY type");
    }
  } else if (k == "SMTPUTF8" && o.smtputf8) {  // RFC 6531 §3.4: no value
    if (p.value) return bad_value(p);
    m.smtputf8 = true;
  } else if (k == "RET" && o.dsn) {  // RFC 3461 §4.3
    if (!p.value) return bad_value(p);
    if (iequals(*p.value, "FULL")) {
      m.ret = Ret::Full;
    } else if (iequals(*p.value, "HDRS")) {
      m.ret = Ret::Hdrs;
    } else {
      return bad_value(p);
    }
  } else if (k == "ENVID" && o.dsn) {  // RFC 3461 §4.4
    if (!p.value || p.value->size() > kMaxEnvidLength) return bad_value(p);
    auto decoded = decode_xtext(*p.value);
    // "MUST consist entirely of printable (graphic and white space) characters from the
    // US-ASCII repertoire" once decoded.
    if (!decoded || decoded->empty() || !std::all_of(decoded->begin(), decoded->end(), [](char ch) {
          auto u = static_cast<unsigned char>(ch);
          return u >= 32 && u <= 126;
        })) {
      return bad_value(p);
    }
    m.envid = std::move(*decoded);
  } else if (k == "AUTH" && o.auth) {  // RFC 4954 §5: AUTH=<mailbox xtext> / AUTH=<>
    if (!p.value) return bad_value(p);
    auto decoded = decode_xtext(*p.value);
    if (!decoded || decoded->empty()) return bad_value(p);
    m.auth = std::move(*decoded);
  } else {
    return unsupported(p);
  }
  return std::nullopt;
}

std::optional<ParseError> apply_rcpt_param(const Param& p, RcptParams& r, const ParseOptions& o) {
  if (p.keyword == "NOTIFY" && o.dsn) {  // RFC 3461 §4.1: "NEVER" / 1#( SUCCESS / FAILURE / DELAY )
    if (!p.value) return bad_value(p);
    std::string_view v = *p.value;
    unsigned bits = 0;
    std::size_t i = 0;
    while (true) {
      std::size_t comma = v.find(',', i);
      std::string_view item = v.substr(i, comma == std::string_view::npos ? v.npos : comma - i);
      unsigned bit = iequals(item, "NEVER")     ? kNotifyNever
                     : iequals(item, "SUCCESS") ? kNotifySuccess
                     : iequals(item, "FAILURE") ? kNotifyFailure
                     : iequals(item, "DELAY")   ? kNotifyDelay
                                                : 0u;
      if (bit == 0 || (bits & bit)) return bad_value(p);
      bits |= bit;
      if (comma == std::string_view::npos) break;
      i = comma + 1;
    }
    // "NEVER" MUST NOT be combined with any other value.
    if ((bits & kNotifyNever) && bits != kNotifyNever) return bad_value(p);
    r.notify = bits;
  } else if (p.keyword == "ORCPT" && o.dsn) {  // RFC 3461 §4.2: addr-type ";" xtext
    if (!p.value || p.value->size() > kMaxOrcptLength) return bad_value(p);
    std::string_view v = *p.value;
    std::size_t semi = v.find(';');
    if (semi == 0 || semi == std::string_view::npos) return bad_value(p);
    std::string_view type = v.substr(0, semi);
    if (!std::all_of(type.begin(), type.end(), [](char ch) { return is_atext(ch); })) return bad_value(p);
    auto addr = decode_xtext(v.substr(semi + 1));
    if (!addr || addr->empty()) return bad_value(p);
    r.orcpt = std::string(type) + ";" + *addr;
  } else {
    return unsupported(p);
  }
  return std::nullopt;
}

// "MAIL FROM:" / "RCPT TO:" with one optional SP after the colon (Deviation, see top).
std::optional<std::string_view> after_prefix(std::string_view args, std::string_view prefix) {
  if (!istarts_with(args, prefix)) return std::nullopt;
  args.remove_prefix(prefix.size());
  if (!args.empty() && args[0] == ' ') args.remove_prefix(1);
  return args;
}

ParseError path_error(PathError e, bool is_mail) {
  switch (e) {
    case PathError::TooLong:
      return is_mail ? error(501, "5.1.7", "Sender address too long")
                     : error(501, "5.1.3", "Recipient address too long");
    case PathError::NotAscii:  // RFC 6531 §3.5
      return is_mail ? error(550, "5.6.7", "Non-ASCII addresses require SMTPUTF8")
                     : error(553, "5.6.7", "Non-ASCII addresses require SMTPUTF8");
    case PathError::Syntax:
      break;
  }
  return is_mail ? error(501, "5.1.7", "Bad sender address syntax")
                 : error(501, "5.1.3", "Bad recipient address syntax");
}

std::variant<Command, ParseError> parse_mail(std::string_view args, const ParseOptions& o) {
  auto rest = after_prefix(args, "FROM:");
  if (!rest) return error(501, "5.5.4", "Syntax: MAIL FROM:<address>");
  Cursor c(*rest);
  auto path = parse_path(c, true);
  if (auto* e = std::get_if<PathError>(&path)) return path_error(*e, true);
  std::string_view tail = c.rest();
  if (!tail.empty() && tail[0] != ' ') return path_error(PathError::Syntax, true);
  auto params = split_params(tail);
  if (auto* e = std::get_if<ParseError>(&params)) return std::move(*e);
  Mail mail;
  for (const Param& p : std::get<std::vector<Param>>(params)) {
    if (auto e = apply_mail_param(p, mail.params, o)) return std::move(*e);
  }
  auto& pr = std::get<PathResult>(path);
  if (pr.saw_8bit && !mail.params.smtputf8) return path_error(PathError::NotAscii, true);
  mail.reverse_path = std::move(pr.path);
  return mail;
}

std::variant<Command, ParseError> parse_rcpt(std::string_view args, const ParseOptions& o) {
  auto rest = after_prefix(args, "TO:");
  if (!rest) return error(501, "5.5.4", "Syntax: RCPT TO:<address>");
  Cursor c(*rest);
  auto path = parse_path(c, false);
  if (auto* e = std::get_if<PathError>(&path)) return path_error(*e, false);
  std::string_view tail = c.rest();
  if (!tail.empty() && tail[0] != ' ') return path_error(PathError::Syntax, false);
  auto params = split_params(tail);
  if (auto* e = std::get_if<ParseError>(&params)) return std::move(*e);
  Rcpt rcpt;
  for (const Param& p : std::get<std::vector<Param>>(params)) {
    if (auto e = apply_rcpt_param(p, rcpt.params, o)) return std::move(*e);
  }
  auto& pr = std::get<PathResult>(path);
  if (pr.saw_8bit && !o.smtputf8_transaction) return path_error(PathError::NotAscii, false);
  rcpt.forward_path = std::move(pr.path);
  rcpt.postmaster_only = pr.postmaster_only;
  return rcpt;
}

std::variant<Command, ParseError> parse_ehlo(std::string_view args, bool extended) {
  std::string_view verb = extended ? "EHLO" : "HELO";
  if (args.empty()) return error(501, "5.5.4", std::string("Syntax: ") + std::string(verb) + " hostname");
  Cursor c(args);
  bool saw_8bit = false;
  bool ok = c.peek() == '[' ? parse_address_literal(c) : parse_domain(c, true, saw_8bit);
  // RFC 6531 §3.7.1 wants A-labels in EHLO; 8-bit is refused.
  if (!ok || !c.eof() || saw_8bit) return error(501, "5.5.4", "Invalid domain name");
  return Ehlo{std::string(args), extended};
}

bool is_base64(std::string_view s) {
  if (s.size() % 4 != 0) return false;
  std::size_t pad = 0;
  while (pad < s.size() && pad < 2 && s[s.size() - 1 - pad] == '=') ++pad;
  return std::all_of(s.begin(), s.end() - static_cast<std::ptrdiff_t>(pad), [](char ch) {
    auto u = static_cast<unsigned char>(ch);
    return is_alnum(u) || u == '+' || u == '/';
  });
}

std::variant<Command, ParseError> parse_auth(std::string_view args) {
  // RFC 4954 §4: "AUTH" SP sasl-mech [SP initial-response]; RFC 4422 §3.1: sasl-mech = 1*20 of
  // upper-case ALPHA / DIGIT / "-" / "_" (matched case-insensitively).
  std::size_t sp = args.find(' ');
  std::string_view mech = args.substr(0, sp);
  if (mech.empty() || mech.size() > 20 || !std::all_of(mech.begin(), mech.end(), [](char ch) {
        auto u = static_cast<unsigned char>(ch);
        return is_alnum(u) || u == '-' || u == '_';
      })) {
    return error(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
  }
  Auth auth{upper(mech), std::nullopt};
  if (sp != std::string_view::npos) {
    std::string_view ir = args.substr(sp + 1);
    if (ir == "=") {
      auth.initial_response = std::string();
    } else if (!ir.empty() && is_base64(ir)) {
      auth.initial_response = std::string(ir);
    } else {
      return error(501, "5.5.2", "Invalid base64 in initial response");
    }
  }
  return auth;
}

bool all_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x80; });
}
bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

}  // namespace

std::string Path::address() const {
  if (null) return {};
  if (domain.empty()) return local_part;
  return local_part + "@" + domain;
}

std::variant<Command, ParseError> parse_command(std::string_view line, const ParseOptions& options) {
  std::size_t sp = line.find(' ');
  std::string_view verb = line.substr(0, sp);
  bool is_auth = iequals(verb, "AUTH");
  std::size_t limit =
      is_auth ? std::max(options.max_auth_line_length, options.max_line_length) : options.max_line_length;
  // RFC 5321 §4.5.3.1.4 / §4.5.3.1.10: "500 Line too long". The limit counts the CRLF.
  if (line.size() + 2 > limit) {
    return is_auth ? error(500, "5.5.6", "Authentication exchange line is too long")
                   : error(500, "5.5.2", "Line too long");
  }
  for (char ch : line) {
    auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7F) return error(501, "5.5.2", "Invalid character in command");
  }
  if (!all_ascii(verb)) return error(500, "5.5.2", "Command unrecognized");
  std::string_view args = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
  while (!args.empty() && args.back() == ' ') args.remove_suffix(1);  // Deviation: trailing SP
  bool has_args = !args.empty();
  // 8-bit bytes may only appear inside paths (checked by the path grammar) and in free-form
  // String arguments (VRFY/EXPN/HELP/NOOP, as well-formed UTF-8).
  auto no_args = [&](std::string_view name, Command cmd) -> std::variant<Command, ParseError> {
    if (has_args) return error(501, "5.5.4", std::string("Syntax: ") + std::string(name));
    return cmd;
  };
  auto string_arg_ok = [&] { return valid_utf8(args); };

  if (iequals(verb, "EHLO")) return parse_ehlo(args, true);
  if (iequals(verb, "HELO")) return parse_ehlo(args, false);
  if (iequals(verb, "MAIL")) return parse_mail(args, options);
  if (iequals(verb, "RCPT")) return parse_rcpt(args, options);
  if (iequals(verb, "DATA")) return no_args("DATA", Data{});
  if (iequals(verb, "RSET")) return no_args("RSET", Rset{});
  if (iequals(verb, "QUIT")) return no_args("QUIT", Quit{});
  if (iequals(verb, "STARTTLS")) return no_args("STARTTLS", StartTls{});  // RFC 3207 §4
  if (iequals(verb, "NOOP")) {  // RFC 5321 §4.1.1.9: "NOOP" [ SP String ], argument ignored
    if (!string_arg_ok()) return error(501, "5.5.4", "Invalid argument");
    return Noop{};
  }
  if (iequals(verb, "HELP")) {  // RFC 5321 §4.1.1.8
    if (!string_arg_ok()) return error(501, "5.5.4", "Invalid argument");
    return Help{std::string(args)};
  }
  if (iequals(verb, "VRFY") || iequals(verb, "EXPN")) {  // RFC 5321 §4.1.1.6-7: SP String
    if (!has_args || !string_arg_ok()) {
      return error(501, "5.5.4", "Syntax: " + upper(verb) + " string");
    }
    if (iequals(verb, "VRFY")) return Vrfy{std::string(args)};
    return Expn{std::string(args)};
  }
  if (iequals(verb, "BDAT")) {  // RFC 3030 §2: "BDAT" SP chunk-size [ SP end-marker ]
    if (!options.chunking) return error(502, "5.5.1", "Command not implemented");
    std::size_t sp2 = args.find(' ');
    std::string_view num = args.substr(0, sp2);
    std::string_view marker = sp2 == std::string_view::npos ? std::string_view{} : args.substr(sp2 + 1);
    if (num.empty() || num.size() > 19 ||
        !std::all_of(num.begin(), num.end(), [](char ch) { return is_digit(ch); }) ||
        (sp2 != std::string_view::npos && !iequals(marker, "LAST"))) {
      return error(501, "5.5.4", "Syntax: BDAT size [LAST]");
    }
    std::uint64_t n = 0;
    for (char ch : num) n = n * 10 + static_cast<std::uint64_t>(ch - '0');  // < 10^19: no overflow
    return Bdat{n, sp2 != std::string_view::npos};
  }
  if (is_auth) {
    if (!options.auth) return error(502, "5.5.1", "Command not implemented");
    return parse_auth(args);
  }
  // RFC 5321 §4.5.1 lists these as obsolete or optional; known, deliberately not implemented.
  for (std::string_view known : {"TURN", "ETRN", "ATRN", "SEND", "SOML", "SAML", "VERB"}) {
    if (iequals(verb, known)) return error(502, "5.5.1", "Command not implemented");
  }
  return error(500, "5.5.2", "Command unrecognized");
}

std::optional<std::string> canonical_domain(std::string_view domain) {
  if (domain.empty() || domain.size() > kMaxDomainLength) return std::nullopt;
  std::string out(domain);
  std::transform(out.begin(), out.end(), out.begin(), to_lower);
  if (out.front() == '[') {
    if (out.back() != ']') return std::nullopt;
    return out;
  }
  std::size_t label = 0;
  for (char ch : out) {
    if (ch == '.') {
      if (label == 0) return std::nullopt;
      label = 0;
    } else if (++label > kMaxLabelLength) {
      return std::nullopt;
    }
  }
  if (label == 0) return std::nullopt;  // trailing dot
  return out;
}

std::string local_part_value(std::string_view raw) {
  if (raw.size() < 2 || raw.front() != '"' || raw.back() != '"') return std::string(raw);
  std::string out;
  raw = raw.substr(1, raw.size() - 2);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size()) ++i;
    out.push_back(raw[i]);
  }
  return out;
}

std::optional<std::string> decode_xtext(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '+') {  // hexchar = "+" 2(upper-case HEXDIG)
      if (i + 2 >= text.size()) return std::nullopt;
      auto h = static_cast<unsigned char>(text[i + 1]);
      auto l = static_cast<unsigned char>(text[i + 2]);
      if (!is_hex_upper(h) || !is_hex_upper(l)) return std::nullopt;
      auto val = [](unsigned char x) { return is_digit(x) ? x - '0' : x - 'A' + 10; };
      out.push_back(static_cast<char>(val(h) * 16 + val(l)));
      i += 2;
    } else if (c >= 33 && c <= 126 && c != '=') {  // xchar
      out.push_back(static_cast<char>(c));
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::variant<std::string, SaslCancel, ParseError> parse_sasl_response(std::string_view line,
                                                                      const ParseOptions& options) {
  if (line.size() + 2 > options.max_auth_line_length) {
    return error(500, "5.5.6", "Authentication exchange line is too long");
  }
  if (line == "*") return SaslCancel{};  // RFC 4954 §4: the server MUST reply 501
  if (!is_base64(line)) return error(501, "5.5.2", "Invalid base64 data");
  return std::string(line);
}

}  // namespace roost::smtp
