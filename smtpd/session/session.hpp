// The SMTP session: one coroutine per connection, owning its state (RFC 5321 §3, §4.1.4 sequencing).
#pragma once

#include "common/core/config.hpp"
#include "common/net/connection.hpp"
#include "storage/mail_store.hpp"

namespace roost::smtpd {

enum class Mode {
    Mx,          // port 25: anyone may deliver to local domains; STARTTLS; no AUTH (RFC 5321)
    Submission,  // port 587 / 465: AUTH required before MAIL (RFC 6409 §4.3); relaying for its users
};

struct SessionContext {
    const Config& config;
    store::MailStore& store;
    Mode mode;
    bool tls_available = true;
};

net::awaitable<void> run_session(net::Connection& conn, const SessionContext& ctx);

}  // namespace roost::smtpd
