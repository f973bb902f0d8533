// The IMAP session: one coroutine per connection (RFC 9051 §3 states, §7 responses).
#pragma once

#include "common/core/config.hpp"
#include "common/net/connection.hpp"
#include "storage/mail_store.hpp"

namespace roost::imapd {

struct SessionContext {
    const Config& config;
    store::MailStore& store;
    bool tls_available = true;
};

net::awaitable<void> run_session(net::Connection& conn, const SessionContext& ctx);

}  // namespace roost::imapd
