// The POP3 session: one coroutine per connection, owning its state (RFC 1939 §3: AUTHORIZATION →
// TRANSACTION → UPDATE).
#pragma once

#include "common/core/config.hpp"
#include "common/net/connection.hpp"
#include "storage/mail_store.hpp"

namespace roost::pop3d {

struct SessionContext {
    const Config& config;
    store::MailStore& store;
    bool tls_available = true;  // STLS offered on plaintext listeners
};

net::awaitable<void> run_session(net::Connection& conn, const SessionContext& ctx);

}  // namespace roost::pop3d
