// One outbound SMTP transaction to one address (RFC 5321 §3, §4.5.3.2 timeouts): connect, greeting, EHLO
// (HELO when EHLO is refused), STARTTLS when offered or required (RFC 3207; a new phase: nothing read
// before the handshake survives it, and EHLO is sent again), AUTH for a smarthost (RFC 4954, PLAIN or
// LOGIN, only under TLS unless TLS is off by configuration), MAIL/RCPT/DATA pipelined when the server offers
// PIPELINING (RFC 2920), each recipient's reply kept separately, QUIT.
//
// Owns its socket; everything runs on the caller's executor. Expected failures (refused connections,
// timeouts, 4xx/5xx replies) come back as values, never as exceptions.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "smtpd/outbound/reply.hpp"

namespace boost::asio::ssl {
class context;
}

namespace roost::outbound {

enum class TlsPolicy {
    Opportunistic,  // STARTTLS when offered; no certificate check (RFC 7435), plaintext when not offered
    RequireStartTls,
    Implicit,       // TLS from the first byte (RFC 8314)
    None,
};

struct ClientOptions {
    std::string helo_name;  // our host name (RFC 5321 §4.1.1.1)
    std::chrono::seconds connect_timeout{30};
    std::chrono::seconds greeting_timeout{300};  // RFC 5321 §4.5.3.2.1: 5 minutes
    std::chrono::seconds command_timeout{300};   // §4.5.3.2.2-3: MAIL, RCPT 5 minutes
    std::chrono::seconds data_init_timeout{120}; // §4.5.3.2.4: 2 minutes
    std::chrono::seconds data_block_timeout{180};// §4.5.3.2.5: 3 minutes
    std::chrono::seconds data_end_timeout{600};  // §4.5.3.2.6: 10 minutes
};

struct Target {
    std::string host;     // name shown in logs and DSNs, and sent as TLS SNI
    std::string address;  // IP literal to connect to
    std::uint16_t port = 25;
    TlsPolicy tls = TlsPolicy::Opportunistic;
    std::string username, password;  // AUTH when username is set
};

struct EnvelopeRecipient {
    std::string address;
    std::string orcpt;    // "rfc822;addr" (decoded) or empty
    unsigned notify = 0;  // NotifyBits
};

struct Envelope {
    std::string from;  // reverse-path; empty = "<>"
    std::vector<EnvelopeRecipient> recipients;
    std::string envid;  // decoded
    std::string ret;    // "FULL", "HDRS" or empty
};

struct RecipientReply {
    enum class Outcome { Delivered, Failed, Deferred };
    Outcome outcome = Outcome::Deferred;
    std::string reply;  // SmtpReply::summary() or a local error
    int code = 0;
    std::string enhanced;
};

struct TransactionResult {
    // False: the session failed before any recipient was judged (connection, greeting, EHLO, TLS, AUTH, a 4xx to
    // MAIL): the next host may be tried. `error` says why.
    bool session_ok = false;
    bool permanent = false;  // with !session_ok: the failure is not worth retrying elsewhere
    std::string error;
    std::vector<RecipientReply> recipients;  // one per envelope recipient when session_ok
    bool remote_dsn = false;  // the server took the DSN parameters (RFC 3461 §4)
    std::string tls;          // "TLSv1.3 ..." or empty
};

// `message` is the message as it is to be sent (not yet dot-stuffed), CRLF line ends.
boost::asio::awaitable<TransactionResult> send_transaction(boost::asio::any_io_executor ex,
                                                           boost::asio::ssl::context& tls, const ClientOptions& options,
                                                           const Target& target, const Envelope& envelope,
                                                           std::string_view message);

}  // namespace roost::outbound
