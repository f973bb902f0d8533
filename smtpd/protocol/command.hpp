// SMTP command-line parser: one line (without its CRLF) in, one typed command out.
//
// Pure: no I/O, no Asio, no storage, no policy. It decides what the client *said*, never whether
// it is allowed (relaying, local-ness, size policy, command sequencing are the session's job).
//
// RFC 5321 §4.1.1 (commands), §4.1.2 (argument grammar), §4.1.3 (address literals),
// §4.5.3.1 (size limits); RFC 1870 (SIZE); RFC 6152 (8BITMIME); RFC 3030 (BDAT);
// RFC 3461 (DSN); RFC 6531 (SMTPUTF8); RFC 4954 (AUTH).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace roost::smtp {

// RFC 5321 §4.5.3.1: size limits. Lengths are in octets.
inline constexpr std::size_t kMaxLocalPartLength = 64;     // §4.5.3.1.1
inline constexpr std::size_t kMaxDomainLength = 255;       // §4.5.3.1.2
inline constexpr std::size_t kMaxLabelLength = 63;         // RFC 1035 §2.3.4
inline constexpr std::size_t kMaxPathLength = 256;         // §4.5.3.1.3, including "<" and ">"
inline constexpr std::size_t kMaxCommandLineLength = 512;  // §4.5.3.1.4, including CRLF
// RFC 4954 §4: an AUTH command line (with its initial response) may be up to 12288 octets.
inline constexpr std::size_t kMaxAuthLineLength = 12288;
// RFC 3461 §5.4: limits on parameter values we accept (the RFC's minimum is also our maximum).
inline constexpr std::size_t kMaxEnvidLength = 100;
inline constexpr std::size_t kMaxOrcptLength = 500;

struct ParseOptions {
  // Longest accepted command line, INCLUDING the CRLF the caller has stripped. RFC 5321 §4.5.3.1.4
  // sets 512; SIZE (RFC 1870 §3: +26), DSN (RFC 3461 §5.4: +530) and AUTH= (RFC 4954 §5: +500)
  // raise it. See esmtp.hpp `parse_options_for()` which computes it from what is advertised.
  std::size_t max_line_length = kMaxCommandLineLength;
  // Longest AUTH command line, including CRLF (RFC 4954 §4).
  std::size_t max_auth_line_length = kMaxAuthLineLength;
  // The current transaction's MAIL carried SMTPUTF8: RCPT may then use UTF-8 addresses
  // (RFC 6531 §3.4). MAIL itself decides from its own parameters.
  bool smtputf8_transaction = false;
  // Which parameters are recognised; a parameter of an extension we do not advertise is
  // "unrecognised" and answered 555 (RFC 5321 §4.1.1.11).
  bool size = true;          // RFC 1870
  bool eightbitmime = true;  // RFC 6152
  bool binarymime = false;   // RFC 3030 (BODY=BINARYMIME); off: the store is not binary-clean
  bool smtputf8 = true;      // RFC 6531
  bool dsn = true;           // RFC 3461
  bool auth = true;          // RFC 4954 §5 (MAIL ... AUTH=)
  bool chunking = true;      // RFC 3030 (BDAT)
};

// An RFC 5321 §4.1.2 Path. Everything is kept as sent so the relay checks can see tricks.
struct Path {
  std::string local_part;  // as sent: quotes and backslashes preserved (`"a b"`, `user%other`)
  std::string domain;      // as sent (case preserved); address literals keep their brackets
  bool null = false;       // "<>" (only valid as a reverse-path)
  // A-d-l source route (`<@a,@b:user@c>`), domains without the '@'. RFC 5321 §4.1.1.3 /
  // Appendix C: servers SHOULD ignore it; kept so relay checks can log or refuse it.
  std::vector<std::string> source_route;
  bool domain_is_address_literal = false;

  // "local@domain"; "" for the null path; the bare local part for RCPT TO:<Postmaster>.
  std::string address() const;
  friend bool operator==(const Path&, const Path&) = default;
};

// RFC 3461 §4.3
enum class Ret { Full, Hdrs };

struct MailParams {
  std::optional<std::uint64_t> size;  // RFC 1870; saturates at UINT64_MAX (policy says 552)
  enum class Body { None, SevenBit, EightBitMime, BinaryMime } body = Body::None;  // RFC 6152/3030
  bool smtputf8 = false;                                                           // RFC 6531 §3.4
  std::optional<Ret> ret;                                                          // RFC 3461 §4.3
  std::string envid;                // RFC 3461 §4.4, xtext-decoded; "" = absent
  std::optional<std::string> auth;  // RFC 4954 §5, xtext-decoded; "<>" kept as "<>"
  friend bool operator==(const MailParams&, const MailParams&) = default;
};

// RFC 3461 §4.1 NOTIFY bits; 0 means "not specified".
enum Notify : unsigned {
  kNotifyNever = 1u << 0,
  kNotifySuccess = 1u << 1,
  kNotifyFailure = 1u << 2,
  kNotifyDelay = 1u << 3,
};

struct RcptParams {
  unsigned notify = 0;  // Notify bits; kNotifyNever is never combined with another
  std::string orcpt;    // RFC 3461 §4.2: "addr-type;address", xtext-decoded; "" = absent
  friend bool operator==(const RcptParams&, const RcptParams&) = default;
};

struct Ehlo {
  std::string domain;  // domain or address literal ("[1.2.3.4]", "[IPv6:::1]"), as sent
  bool extended;       // EHLO (true) or HELO (false)
};
struct Mail {
  Path reverse_path;  // reverse_path.null for "<>"
  MailParams params;
};
struct Rcpt {
  Path forward_path;
  RcptParams params;
  bool postmaster_only = false;  // RFC 5321 §4.1.1.3 "RCPT TO:<Postmaster>" (no domain)
};
struct Data {};
struct Bdat {  // RFC 3030 §2
  std::uint64_t size;
  bool last;
};
struct Rset {};
struct Noop {};
struct Quit {};
struct Vrfy {
  std::string arg;  // raw String
};
struct Expn {
  std::string arg;
};
struct Help {
  std::string arg;  // may be empty
};
struct StartTls {};
struct Auth {             // RFC 4954 §4
  std::string mechanism;  // upper-cased
  // Base64 text as sent; "" when the client sent "=" (empty initial response); nullopt when absent.
  std::optional<std::string> initial_response;
};

using Command =
    std::variant<Ehlo, Mail, Rcpt, Data, Bdat, Rset, Noop, Quit, Vrfy, Expn, Help, StartTls, Auth>;

// A reply the session sends as-is (the caller formats it with format_reply()).
struct ParseError {
  int code;
  std::string enhanced;
  std::string text;
};

// `line` is one command line without its CRLF.
std::variant<Command, ParseError> parse_command(std::string_view line, const ParseOptions& options);

// Lower-cases ASCII letters; nullopt for an empty name, an empty label (including a trailing
// dot: "example.com." is refused, not silently equated with "example.com"), or a label/name over
// the DNS limits. Address literals are returned unchanged apart from lower-casing ("[ipv6:...]").
std::optional<std::string> canonical_domain(std::string_view domain);

// The value of a local part: quotes removed and quoted-pairs resolved (`"a\"b"` -> `a"b`).
// Dot-strings are returned unchanged. Case is preserved (RFC 5321 §2.4: local parts are
// case-sensitive for the receiver to decide).
std::string local_part_value(std::string_view raw_local_part);

// RFC 3461 §4: xtext decoding; nullopt for malformed xtext (bad hexchar, lower-case hex,
// or a character outside 33..126, '+' or '=').
std::optional<std::string> decode_xtext(std::string_view text);

// RFC 4954 §4: one client line during an AUTH exchange (after a 334 challenge).
struct SaslCancel {};  // "*": the session answers 501 5.7.0
// The base64 text (possibly empty) / cancel / a syntax error (501 5.5.2 invalid base64,
// 500 5.5.6 line too long).
std::variant<std::string, SaslCancel, ParseError> parse_sasl_response(std::string_view line,
                                                                      const ParseOptions& options);

}  // namespace roost::smtp
