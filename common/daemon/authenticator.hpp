// Password authentication shared by smtpd, imapd, pop3d (and later the admin login): account lookup,
// constant-cost verification off the event loop, and the failed-login throttle that every daemon shares
// through the store (per client address and per account: delays, then a temporary lock-out).
#pragma once

#include <chrono>
#include <string>

#include "common/auth/sasl.hpp"
#include "common/auth/throttle.hpp"
#include "common/core/config.hpp"
#include "common/net/connection.hpp"
#include "storage/mail_store.hpp"

namespace roost {

struct AuthOutcome {
    enum class Kind {
        Ok,
        Failed,     // wrong user or password, disabled account, or authzid not allowed
        LockedOut,  // too many recent failures for this address or account
        Temporary,  // the store is unavailable
    };
    Kind kind = Kind::Failed;
    store::Account account;  // set when Ok
};

// The failed-login throttle as configured ([auth]), and a stored failure record in the policy's terms.
// Shared by every login path (mail protocols and the admin panel).
auth::ThrottlePolicy throttle_policy(const Config& config);
auth::FailureState failure_state(const store::Result<store::FailureRecord>& record);

// Verifies `creds` for a client at `conn.peer_ip()`. Failures are recorded and answered only after the
// throttle's delay has passed (the delay is served inside this call).
net::awaitable<AuthOutcome> authenticate(net::Connection& conn, store::MailStore& store, const Config& config,
                                         const auth::Credentials& creds);

}  // namespace roost
