// SMTP replies: formatting (RFC 5321 §4.2) and the table of standard replies Roost sends.
//
// Enhanced status codes: RFC 2034 / RFC 3463 / RFC 5248 (registry). Reply text is sanitised so
// that nothing the client sent (echoed in a reply) can inject CR/LF or control characters.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace roost::smtp {

struct ParseError;

// RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including CRLF; longer text is cut.
inline constexpr std::size_t kMaxReplyLineLength = 512;

// "250 2.1.0 Ok\r\n". `enhanced` is omitted when empty (RFC 2034 §4: it follows the code and SP).
// Control characters and bytes >= 0x80 are replaced by '?'.
std::string format_reply(int code, std::string_view enhanced, std::string_view text);

// Multi-line reply (RFC 5321 §4.2.1): "250-first\r\n250-...\r\n250 last\r\n". Every line carries
// `enhanced` when non-empty. An empty `lines` yields a single line with empty text.
std::string format_reply_lines(int code, std::string_view enhanced, std::span<const std::string> lines);

// A standard reply. Constants below; the session may append detail to `text`.
struct Reply {
  int code;
  std::string_view enhanced;
  std::string_view text;
};
std::string format_reply(const Reply& reply);
std::string format_reply(const ParseError& error);

namespace replies {
// 2xx
inline constexpr Reply kOk{250, "2.0.0", "Ok"};
inline constexpr Reply kSenderOk{250, "2.1.0", "Sender ok"};                // MAIL
inline constexpr Reply kRecipientOk{250, "2.1.5", "Recipient ok"};          // RCPT
inline constexpr Reply kMessageAccepted{250, "2.6.0", "Message accepted"};  // after DATA / BDAT LAST
inline constexpr Reply kChunkAccepted{250, "2.0.0", "Chunk accepted"};      // BDAT (not LAST)
inline constexpr Reply kCannotVrfy{
    252, "2.0.0", "Cannot VRFY user, but will accept message and attempt delivery"};  // RFC 5321 §3.5.3
inline constexpr Reply kHelp{214, "2.0.0", "See https://www.rfc-editor.org/rfc/rfc5321"};
inline constexpr Reply kBye{221, "2.0.0", "Bye"};
inline constexpr Reply kReadyToStartTls{220, "2.0.0", "Ready to start TLS"};       // RFC 3207 §4
inline constexpr Reply kAuthSucceeded{235, "2.7.0", "Authentication successful"};  // RFC 4954 §6
// 3xx (no enhanced code: RFC 2034 §4 applies it to 2xx/4xx/5xx only)
inline constexpr Reply kStartMailInput{354, "", "End data with <CR><LF>.<CR><LF>"};
// 4xx
inline constexpr Reply kTimeout{421, "4.4.2", "Timeout exceeded, closing connection"};
inline constexpr Reply kShuttingDown{421, "4.3.2", "Service shutting down, closing connection"};
inline constexpr Reply kLocalError{451, "4.3.0", "Local error in processing"};
inline constexpr Reply kTemporaryFailure{451, "4.3.0", "Temporary failure, try again later"};
inline constexpr Reply kInsufficientStorage{452, "4.3.1", "Insufficient system storage"};  // RFC 1870 §6.1
inline constexpr Reply kMailboxFullTemp{452, "4.2.2", "Mailbox full"};
inline constexpr Reply kTooManyRecipients{452, "4.5.3", "Too many recipients"};  // RFC 5321 §4.5.3.1.10
inline constexpr Reply kTlsNotAvailable{454, "4.7.0", "TLS not available"};      // RFC 3207 §4
inline constexpr Reply kTempAuthFailure{454, "4.7.0", "Temporary authentication failure"};  // RFC 4954 §6
// 5xx
inline constexpr Reply kUnknownCommand{500, "5.5.2", "Command unrecognized"};
inline constexpr Reply kLineTooLong{500, "5.5.2", "Line too long"};  // RFC 5321 §4.5.3.1.10
inline constexpr Reply kAuthLineTooLong{500, "5.5.6",
                                        "Authentication exchange line is too long"};  // RFC 4954 §6
inline constexpr Reply kSyntaxError{501, "5.5.4", "Syntax error in parameters or arguments"};
inline constexpr Reply kAuthCancelled{501, "5.7.0", "Authentication cancelled"};  // RFC 4954 §4 ("*")
inline constexpr Reply kNotImplemented{502, "5.5.1", "Command not implemented"};
inline constexpr Reply kBadSequence{503, "5.5.1", "Bad sequence of commands"};
inline constexpr Reply kAlreadyAuthenticated{503, "5.5.1", "Already authenticated"};  // RFC 4954 §4
inline constexpr Reply kNoValidRecipients{554, "5.5.1", "No valid recipients"};
inline constexpr Reply kUnrecognizedAuthMechanism{504, "5.5.4",
                                                  "Unrecognized authentication type"};  // RFC 4954 §4
inline constexpr Reply kAuthRequired{530, "5.7.0", "Authentication required"};          // RFC 4954 §6
inline constexpr Reply kStartTlsRequired{530, "5.7.0", "Must issue a STARTTLS command first"};  // RFC 3207 §4
inline constexpr Reply kAuthTooWeak{534, "5.7.9", "Authentication mechanism is too weak"};  // RFC 4954 §6
inline constexpr Reply kAuthFailed{535, "5.7.8", "Authentication credentials invalid"};     // RFC 4954 §6
inline constexpr Reply kEncryptionRequired{
    538, "5.7.11", "Encryption required for requested authentication mechanism"};  // RFC 4954 §6
inline constexpr Reply kNoSuchUser{550, "5.1.1", "Mailbox unavailable"};
inline constexpr Reply kRelayDenied{554, "5.7.1", "Relay access denied"};
inline constexpr Reply kPolicyRejected{550, "5.7.1", "Rejected for policy reasons"};
inline constexpr Reply kSecurityNotSupported{554, "5.7.4", "Security features not supported"};
inline constexpr Reply kMessageTooBig{552, "5.3.4",
                                      "Message size exceeds fixed maximum message size"};  // RFC 1870 §6.1
inline constexpr Reply kMessageOverUserLimit{552, "5.2.3", "Message length exceeds administrative limit"};
inline constexpr Reply kMailboxFull{552, "5.2.2", "Mailbox full"};
// Message content rejected after the end of DATA/BDAT (see data_reader.hpp).
inline constexpr Reply kBareLineEnding{
    550, "5.6.0", "Message contains bare CR or LF (only CRLF line endings are accepted)"};
inline constexpr Reply kNulInMessage{550, "5.6.0", "Message contains NUL characters"};
inline constexpr Reply kMessageLineTooLong{
    550, "5.6.0", "Message contains a line longer than this server accepts"};  // RFC 5321 §4.5.3.1.6; limit: [limits] max_line_length
inline constexpr Reply kTransactionFailed{554, "5.0.0", "Transaction failed"};
}  // namespace replies

}  // namespace roost::smtp
