#include "smtpd/outbound/delivery.hpp"

#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <ctime>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "common/core/log.hpp"
#include "smtpd/outbound/dkim.hpp"
#include "smtpd/outbound/dns.hpp"
#include "smtpd/outbound/dsn.hpp"
#include "smtpd/outbound/route.hpp"
#include "smtpd/outbound/smtp_client.hpp"
#include "storage/resolver.hpp"

namespace roost::outbound {

namespace asio = boost::asio;
using asio::awaitable;
using store::RecipientOutcome;

namespace {

constexpr auto kUse = asio::as_tuple(asio::use_awaitable);
// A claimed entry stays ours this long; a process that dies leaves it to be retried after that (or at once
// by the next process on this host, which frees its predecessor's leases on start).
constexpr std::chrono::seconds kLease{3600};
constexpr std::chrono::seconds kIdleWait{15};
constexpr std::size_t kMaxAddressesPerGroup = 10;  // RFC 5321 §5.1: try at least two; bound the rest

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string random_hex(std::size_t n) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char hex[] = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += hex[rng() & 15];
    return s;
}

// One recipient's result of this attempt, before it is turned into a store outcome and perhaps a DSN.
struct Result {
    RecipientReply::Outcome outcome = RecipientReply::Outcome::Deferred;
    std::string reply;  // "550 5.1.1 ..." or a local explanation in the same shape
    std::string status; // RFC 3463
    std::string remote_mta;
    bool remote_dsn = false;
};

Result local_result(RecipientReply::Outcome o, int code, const std::string& enhanced, const std::string& text) {
    return Result{o, std::to_string(code) + " " + enhanced + " " + text, enhanced, {}, false};
}

}  // namespace

struct DeliveryService::Impl : std::enable_shared_from_this<Impl> {
    Impl(const Config& c, store::MailStore& s)
        : config(c), store(s), wake(io), slots(io), tls(asio::ssl::context::tls_client) {
        // RFC 7435 opportunistic TLS: encrypt whenever offered, accept any certificate (MX certificates are
        // rarely verifiable without DANE/MTA-STS).
        tls.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
        tls.set_verify_mode(asio::ssl::verify_none);
        owner = config.hostname + ":" + std::to_string(::getpid()) + ":" + std::to_string(now_s());
        client.helo_name = config.hostname;
    }

    Config config;
    store::MailStore& store;
    asio::io_context io;
    asio::steady_timer wake;   // the scheduler sleeps on it; cancelled to wake it
    asio::steady_timer slots;  // connection-slot waiters sleep on it; cancelled when a slot frees
    asio::ssl::context tls;
    ClientOptions client;
    std::unique_ptr<Resolver> dns;
    std::unique_ptr<store::Subscription> subscription;
    std::thread thread;
    std::string owner;
    std::set<std::int64_t> inflight;
    std::size_t connections = 0;
    std::map<std::string, std::size_t> per_destination;
    bool stopping = false;
    bool poked = false;

    // ----- connection slots (total and per destination) -----
    awaitable<void> acquire(const std::string& destination) {
        for (;;) {
            if (connections < config.queue.max_connections && per_destination[destination] < config.queue.max_per_domain) {
                ++connections;
                ++per_destination[destination];
                co_return;
            }
            if (slots.expiry() <= asio::steady_timer::clock_type::now()) slots.expires_after(std::chrono::hours(24));
            co_await slots.async_wait(kUse);
        }
    }
    void release(const std::string& destination) {
        --connections;
        if (--per_destination[destination] == 0) per_destination.erase(destination);
        slots.cancel();
    }

    // ----- the scheduler -----
    awaitable<void> scheduler() {
        if (auto freed = store.release_queue_leases(config.hostname + ":"); freed && *freed)
            log::info("outbound") << "released " << *freed << " queue lease(s) left by an earlier process";
        while (!stopping) {
            std::size_t cap = config.queue.max_connections * 2;
            bool claimed_full = false;
            bool failed = false;
            if (inflight.size() < cap) {
                auto want = cap - inflight.size();
                auto claimed = store.claim_queue(now_s(), kLease, want, owner);
                if (!claimed) {
                    log::error("outbound") << "cannot read the queue: " << claimed.error().message;
                    failed = true;
                } else {
                    claimed_full = claimed->size() == want;
                    for (auto& e : *claimed) {
                        if (!inflight.insert(e.id).second) continue;  // still busy with it (lease ran out)
                        // The completion handler captures nothing: GCC 12 may destroy a coroutine parameter's
                        // captures twice.
                        asio::co_spawn(io, process(std::move(e)), [](std::exception_ptr ex) {
                            if (!ex) return;
                            try {
                                std::rethrow_exception(ex);
                            } catch (const std::exception& x) {
                                log::error("outbound") << "delivery attempt failed: " << x.what();
                            }
                        });
                    }
                }
            }
            auto wait = std::chrono::seconds(kIdleWait);
            if (failed) wait = std::chrono::seconds(1);
            else if (inflight.size() < cap && !claimed_full) {
                if (auto due = store.next_queue_due(); due && due->has_value()) {
                    auto d = **due - now_s();
                    wait = std::clamp<std::chrono::seconds>(std::chrono::seconds(d), std::chrono::seconds(1), kIdleWait);
                }
            } else if (claimed_full && inflight.size() < cap) {
                wait = std::chrono::seconds(0);
            }
            if (poked) wait = std::chrono::seconds(0);
            poked = false;
            if (wait.count() > 0) {
                wake.expires_after(wait);
                co_await wake.async_wait(kUse);
                poked = false;
            }
        }
    }

    // Wakes the scheduler; a wake-up that arrives while it is busy is remembered, not lost.
    void wake_up() {
        poked = true;
        wake.cancel();
    }
    void poke() {
        asio::post(io, [self = shared_from_this()] { self->wake_up(); });
    }

    // ----- one entry -----
    awaitable<void> process(store::QueueEntry entry) {
        auto self = shared_from_this();
        auto id = entry.id;
        try {
            co_await attempt(std::move(entry));
        } catch (const std::exception& e) {
            log::error("outbound") << "queue entry " << id << ": " << e.what();
        }
        inflight.erase(id);
        wake_up();
    }

    awaitable<void> attempt(store::QueueEntry entry) {
        const std::string sid = "q" + std::to_string(entry.id);
        auto raw = store.queue_message(entry.id);
        if (!raw) {
            log::error(sid) << "cannot read the queued message: " << raw.error().message;
            co_return;  // the lease runs out and the entry is tried again
        }
        const std::string original(strip_return_path(*raw));
        raw->clear();
        std::string message = original;
        sign(message, sid);

        std::vector<Result> results(entry.recipients.size());
        std::vector<std::string> addresses;
        for (auto& r : entry.recipients) addresses.push_back(r.address);
        std::vector<std::pair<std::string, std::vector<std::size_t>>> groups;
        if (!config.relay.host.empty()) {
            std::vector<std::size_t> all(addresses.size());
            for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
            groups.push_back({"[relay]", all});
        } else {
            groups = group_by_domain(addresses);
        }
        for (auto& [destination, indexes] : groups) {
            co_await acquire(destination);
            try {
                co_await deliver_group(entry, destination, indexes, message, results, sid);
            } catch (...) {
                release(destination);
                throw;
            }
            release(destination);
        }
        co_await finish(entry, results, original, sid);
    }

    void sign(std::string& message, const std::string& sid) {
        auto domain = from_domain(message);
        if (domain.empty()) return;
        auto keys = store.dkim_keys(domain);
        if (!keys || keys->empty()) return;
        std::vector<SigningKey> signing;
        for (auto& k : *keys) signing.push_back({k.domain, k.selector, k.algorithm, k.private_key_pem});
        std::string error;
        auto header = dkim_sign(message, signing, now_s(), error);
        if (header.empty()) {
            log::warn(sid) << "not DKIM-signed: " << error;
            return;
        }
        message.insert(0, header);
    }

    awaitable<void> deliver_group(const store::QueueEntry& entry, const std::string& destination,
                                  const std::vector<std::size_t>& indexes, const std::string& message,
                                  std::vector<Result>& results, const std::string& sid) {
        auto set_all = [&](const Result& r) {
            for (auto i : indexes) {
                results[i] = r;
                log::info(sid) << "to=<" << log::escape(entry.recipients[i].address) << "> status="
                               << (r.outcome == RecipientReply::Outcome::Failed ? "bounced" : "deferred") << " ("
                               << log::escape(r.reply) << ")";
            }
        };
        std::vector<Target> targets;
        bool dns_temporary = false;
        std::string dns_error;
        if (destination == "[relay]") {
            Target t;
            t.host = config.relay.host;
            t.port = config.relay.port;
            t.tls = config.relay.tls == RelayTls::Implicit   ? TlsPolicy::Implicit
                    : config.relay.tls == RelayTls::StartTls ? TlsPolicy::RequireStartTls
                                                             : TlsPolicy::None;
            t.username = config.relay.username;
            t.password = config.relay.password;
            if (is_ip_literal(t.host)) {
                t.address = t.host;
                targets.push_back(t);
            } else {
                auto a = co_await dns->addresses(t.host);
                for (auto& addr : a.addresses) {
                    t.address = addr;
                    targets.push_back(t);
                }
                if (targets.empty()) {
                    dns_temporary = a.status == DnsAnswer::Status::Temporary;
                    dns_error = a.error;
                }
            }
        } else {
            // RFC 5321 §5.1: MX first; NXDOMAIN is an error; no MX means the implicit MX.
            auto mx = co_await dns->mx(destination);
            if (mx.status == DnsAnswer::Status::NxDomain) {
                set_all(local_result(RecipientReply::Outcome::Failed, 550, "5.1.2",
                                     "Domain " + destination + " does not exist (NXDOMAIN)"));
                co_return;
            }
            if (mx.status == DnsAnswer::Status::Temporary) {
                set_all(local_result(RecipientReply::Outcome::Deferred, 451, "4.4.3",
                                     "MX lookup for " + destination + " failed: " + mx.error));
                co_return;
            }
            static thread_local std::mt19937 rng{std::random_device{}()};
            auto plan = plan_mx(destination, mx.records, [](std::vector<std::string>& v) { std::shuffle(v.begin(), v.end(), rng); });
            if (plan.kind == MxPlanKind::NullMx) {
                // RFC 7505 §4.2: the domain has declared that it accepts no mail.
                set_all(local_result(RecipientReply::Outcome::Failed, 556, "5.1.10",
                                     "Recipient domain " + destination + " has a null MX (accepts no mail)"));
                co_return;
            }
            for (auto& host : plan.hosts) {
                auto a = co_await dns->addresses(host);
                if (a.status == DnsAnswer::Status::Temporary) {
                    dns_temporary = true;
                    dns_error = host + ": " + a.error;
                }
                for (auto& addr : a.addresses) {
                    if (targets.size() >= kMaxAddressesPerGroup) break;
                    targets.push_back(Target{host, addr, config.queue.mx_port, TlsPolicy::Opportunistic, {}, {}});
                }
            }
            if (targets.empty() && dns_error.empty()) dns_error = "no address records for the MX hosts";
        }
        if (targets.empty()) {
            if (dns_temporary)
                set_all(local_result(RecipientReply::Outcome::Deferred, 451, "4.4.3",
                                     "Host lookup for " + destination + " failed: " + dns_error));
            else
                set_all(local_result(RecipientReply::Outcome::Failed, 550, "5.4.4",
                                     "Unable to route to " + destination + ": " + dns_error));
            co_return;
        }

        Envelope env;
        env.from = entry.sender;
        env.envid = entry.envid;
        env.ret = entry.ret;
        for (auto i : indexes) {
            auto& r = entry.recipients[i];
            env.recipients.push_back({r.address, r.orcpt, r.notify});
        }
        std::string last_error;
        for (auto& target : targets) {
            if (stopping) break;
            auto tr = co_await send_transaction(io.get_executor(), tls, client, target, env, message);
            if (!tr.session_ok) {
                log::info(sid) << "attempt via " << log::escape(tr.error);
                last_error = tr.error;
                if (tr.permanent) break;
                continue;
            }
            for (std::size_t k = 0; k < indexes.size(); ++k) {
                auto& rr = tr.recipients[k];
                auto& res = results[indexes[k]];
                res.outcome = rr.outcome;
                res.reply = rr.reply;
                res.status = rr.code ? status_of_reply(rr.code, rr.enhanced) : "4.0.0";
                res.remote_mta = target.host;
                res.remote_dsn = tr.remote_dsn;
                const char* what = rr.outcome == RecipientReply::Outcome::Delivered ? "sent"
                                   : rr.outcome == RecipientReply::Outcome::Failed  ? "bounced"
                                                                                    : "deferred";
                log::info(sid) << "to=<" << log::escape(env.recipients[k].address) << "> relay=" << target.host << "["
                               << target.address << "]:" << target.port << (tr.tls.empty() ? "" : " tls=")
                               << tr.tls << " status=" << what << " (" << log::escape(rr.reply) << ")";
            }
            co_return;
        }
        set_all(local_result(RecipientReply::Outcome::Deferred, 451, "4.4.1",
                             last_error.empty() ? "No host of " + destination + " could be reached" : last_error));
    }

    // ----- recording the attempt, and the notices it owes the sender -----
    awaitable<void> finish(const store::QueueEntry& entry, std::vector<Result>& results, const std::string& original,
                           const std::string& sid) {
        auto now = now_s();
        bool expired = now >= entry.created + config.queue.lifetime.count();
        bool delay_due = config.queue.delay_notice.count() > 0 && !entry.delay_notified &&
                         now - entry.created >= config.queue.delay_notice.count();
        store::AttemptOutcome out;
        out.queue_id = entry.id;
        std::vector<DsnRecipient> notices;
        bool delayed_any = false;
        for (std::size_t i = 0; i < results.size(); ++i) {
            auto& r = results[i];
            auto& q = entry.recipients[i];
            RecipientOutcome o;
            o.recipient_id = q.id;
            o.reply = r.reply;
            o.remote_mta = r.remote_mta;
            DsnRecipient d{q.address, q.orcpt, DsnAction::Failed, r.status, r.remote_mta, r.reply, now, 0};
            switch (r.outcome) {
                case RecipientReply::Outcome::Delivered:
                    o.status = RecipientOutcome::Status::Delivered;
                    // RFC 3461 §6.2.2: a server without DSN support could not take NOTIFY=SUCCESS along; we
                    // report "relayed" ourselves.
                    if (!r.remote_dsn && wants_notice(q.notify, DsnAction::Relayed)) {
                        d.action = DsnAction::Relayed;
                        d.status = r.status.empty() || r.status[0] != '2' ? "2.0.0" : r.status;
                        notices.push_back(d);
                    }
                    break;
                case RecipientReply::Outcome::Failed:
                    o.status = RecipientOutcome::Status::Failed;
                    if (d.status.empty() || d.status[0] != '5') d.status = "5.0.0";
                    if (wants_notice(q.notify, DsnAction::Failed)) notices.push_back(d);
                    break;
                case RecipientReply::Outcome::Deferred:
                    if (expired) {
                        // RFC 3463 4.4.7: delivery time expired; the last error tells why.
                        o.status = RecipientOutcome::Status::Failed;
                        o.reply = "4.4.7 Delivery time expired; last error: " + r.reply;
                        d.status = "4.4.7";
                        d.diagnostic = r.reply;
                        if (wants_notice(q.notify, DsnAction::Failed)) notices.push_back(d);
                    } else {
                        o.status = RecipientOutcome::Status::Deferred;
                        if (out.last_error.empty()) out.last_error = r.reply;
                        if (delay_due && wants_notice(q.notify, DsnAction::Delayed)) {
                            d.action = DsnAction::Delayed;
                            d.status = r.status.empty() || r.status[0] != '4' ? "4.0.0" : r.status;
                            d.will_retry_until = entry.created + config.queue.lifetime.count();
                            notices.push_back(d);
                            delayed_any = true;
                        }
                    }
                    break;
            }
            out.recipients.push_back(std::move(o));
        }
        out.delay_notified = delayed_any;
        auto delay = retry_delay(entry.attempts + 1, config.queue.retry_initial, config.queue.retry_max);
        out.next_attempt = std::min<std::int64_t>(now + delay.count(), entry.created + config.queue.lifetime.count());
        out.next_attempt = std::max<std::int64_t>(out.next_attempt, now + 1);

        // RFC 5321 §4.5.4 / RFC 3461 §6.2: never a notice about a notice (empty reverse-path).
        if (!notices.empty() && entry.sender.empty()) {
            log::info(sid) << "no notice for a message with an empty reverse-path";
            notices.clear();
        }
        if (!notices.empty()) {
            if (auto req = notice_request(entry, notices, original, now, sid)) out.notices.push_back(std::move(*req));
        }

        std::optional<store::Status> done;
        co_await asio::async_initiate<const asio::use_awaitable_t<>, void()>(
            [this, &out, &done](auto handler) {
                auto h = std::make_shared<decltype(handler)>(std::move(handler));
                store.complete_attempt(std::move(out), [this, h, &done](store::Status st) {
                    asio::post(io, [h, &done, st = std::move(st)]() mutable {
                        done.emplace(std::move(st));
                        (*h)();
                    });
                });
            },
            asio::use_awaitable);
        if (!*done) log::error(sid) << "cannot record the delivery attempt: " << done->error().message;
    }

    std::optional<store::DeliveryRequest> notice_request(const store::QueueEntry& entry, std::vector<DsnRecipient> recipients,
                                                          const std::string& original, std::int64_t now,
                                                          const std::string& sid) {
        DsnInput in;
        in.reporting_mta = config.hostname;
        in.sender = entry.sender;
        in.envid = entry.envid;
        in.ret = entry.ret;
        in.arrival = entry.created;
        in.now = now;
        in.recipients = std::move(recipients);
        in.original = original;
        in.boundary = "roost-dsn-" + random_hex(24);
        in.message_id = "dsn-" + random_hex(20) + "@" + config.hostname;
        auto dsn = build_dsn(in);

        store::DeliveryRequest req;
        store::ResolveOptions opt;
        opt.postmaster_account = config.smtp_options.postmaster;
        auto who = store::resolve_recipient(store, entry.sender, opt);
        if (!who) {
            // Not a mailbox name in our terms (or a lookup failure): if it is not ours, send it out.
            if (who.error().code == store::Errc::Temporary || who.error().code == store::Errc::Internal) {
                log::error(sid) << "cannot resolve the sender for a notice: " << who.error().message;
                return std::nullopt;
            }
            req.remote.push_back({entry.sender, "", kNotifyNever});
        } else {
            switch (who->kind) {
                case store::Recipient::Kind::Local:
                case store::Recipient::Kind::OverQuota:
                    req.accounts = who->account_ids;
                    for (auto& t : who->remote_targets) req.remote.push_back({t, "", kNotifyNever});
                    break;
                case store::Recipient::Kind::NotLocal: req.remote.push_back({entry.sender, "", kNotifyNever}); break;
                case store::Recipient::Kind::UnknownUser:
                case store::Recipient::Kind::Disabled:
                    log::warn(sid) << "notice dropped: sender <" << log::escape(entry.sender) << "> has no mailbox here";
                    return std::nullopt;
            }
        }
        if (req.accounts.empty() && req.remote.empty()) return std::nullopt;
        // RFC 5321 §4.4: the final delivery records the (empty) reverse-path.
        std::string prefix = req.accounts.empty() ? "" : "Return-Path: <>\r\n";
        req.raw = prefix + dsn;
        req.internal_date = now;
        req.envelope_from = "";  // RFC 3464 §2 / RFC 5321 §4.5.5: notices use the null reverse-path
        log::info(sid) << "notice to <" << log::escape(entry.sender) << "> (" << (req.accounts.empty() ? "queued" : "local")
                       << ")";
        return req;
    }
};

DeliveryService::DeliveryService(const Config& config, store::MailStore& store)
    : impl_(std::make_shared<Impl>(config, store)) {}

DeliveryService::~DeliveryService() { stop(); }

void DeliveryService::start() {
    auto& i = *impl_;
    i.dns = std::make_unique<Resolver>(i.io.get_executor(), i.config.dns.resolver);
    std::weak_ptr<Impl> weak = impl_;
    i.subscription = i.store.subscribe_queue([weak] {
        if (auto s = weak.lock()) s->poke();
    });
    asio::co_spawn(i.io, i.scheduler(), [](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& x) {
            log::error("outbound") << "delivery scheduler stopped: " << x.what();
        }
    });
    i.thread = std::thread([impl = impl_] { impl->io.run(); });
    log::info("outbound") << "delivery started"
                          << (i.config.relay.host.empty() ? std::string(" (direct to MX)")
                                                          : " (smarthost " + i.config.relay.host + ":" +
                                                                std::to_string(i.config.relay.port) + ")");
}

void DeliveryService::stop() {
    if (!impl_ || !impl_->thread.joinable()) return;
    impl_->subscription.reset();
    asio::post(impl_->io, [impl = impl_] {
        impl->stopping = true;
        impl->wake.cancel();
        if (impl->dns) impl->dns->shutdown();
        impl->io.stop();
    });
    impl_->thread.join();
}

}  // namespace roost::outbound
