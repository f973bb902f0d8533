#include "common/daemon/authenticator.hpp"

#include "common/auth/password.hpp"
#include "common/auth/throttle.hpp"
#include "common/core/log.hpp"

namespace roost {
namespace {

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

auth::ThrottlePolicy throttle_policy(const Config& c) {
    auth::ThrottlePolicy p;
    p.free_failures = c.auth.free_failures;
    p.lockout_after = c.auth.lockout_after;
    p.lockout = c.auth.lockout;
    p.window = c.auth.lockout;
    return p;
}

auth::FailureState failure_state(const store::Result<store::FailureRecord>& r) {
    auth::FailureState s;
    if (!r) return s;
    s.failures = r->failures;
    s.last_failure = std::chrono::system_clock::time_point(std::chrono::seconds(r->last_failure));
    return s;
}

net::awaitable<AuthOutcome> authenticate(net::Connection& conn, store::MailStore& store, const Config& config,
                                         const auth::Credentials& creds) {
    AuthOutcome out;
    auto policy = throttle_policy(config);
    auto user = lower(creds.authcid);
    auto ip_key = "ip:" + conn.peer_ip();
    auto user_key = "user:" + user;
    auto now = std::chrono::system_clock::now();
    // Loopback clients are not throttled per address (webmail, local tools), only per account.
    auto ip_state = conn.peer_is_loopback() ? auth::FailureState{} : failure_state(store.auth_failures(ip_key));
    auto user_state = failure_state(store.auth_failures(user_key));
    auto before = auth::decide(policy, ip_state, user_state, now);
    if (before.locked_out) {
        log::warn(conn.session_id()) << "auth: locked out: " << log::escape(user) << " from " << conn.peer_ip();
        out.kind = AuthOutcome::Kind::LockedOut;
        co_return out;
    }

    bool ok = false;
    auto account = store.find_account(user);
    if (!account && account.error().code == store::Errc::Temporary) {
        out.kind = AuthOutcome::Kind::Temporary;
        co_return out;
    }
    // Verify even for unknown users (against a fixed hash) so timing does not reveal which accounts exist.
    static const std::string dummy = auth::hash_password("roost-dummy-password", auth::Argon2Params{});
    std::string hash = account ? account->password_hash : dummy;
    std::string password = creds.password;
    co_await conn.run_blocking([&] { ok = auth::verify_password(password, hash); });
    bool authz_ok = creds.authzid.empty() || lower(creds.authzid) == user;
    if (ok && account && account->enabled && authz_ok) {
        // Only when there is something to clear: a write on every login would wait for any lock another
        // process holds on the database (up to [store] busy_timeout), stalling this connection's thread.
        if (user_state.failures) (void)store.clear_auth_failures(user_key);
        if (!conn.peer_is_loopback() && ip_state.failures) (void)store.clear_auth_failures(ip_key);
        out.kind = AuthOutcome::Kind::Ok;
        out.account = std::move(account).value();
        co_return out;
    }
    (void)store.record_auth_failure(user_key, policy.window);
    if (!conn.peer_is_loopback()) (void)store.record_auth_failure(ip_key, policy.window);
    auto after = auth::decide(policy, auth::record_failure(policy, ip_state, now),
                              auth::record_failure(policy, user_state, now), now);
    log::info(conn.session_id()) << "auth: failed for " << log::escape(user) << " from " << conn.peer_ip();
    if (after.delay.count() > 0) co_await conn.sleep(after.delay);
    out.kind = AuthOutcome::Kind::Failed;
    co_return out;
}

}  // namespace roost
