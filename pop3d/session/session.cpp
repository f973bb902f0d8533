// POP3 session state machine (RFC 1939, RFC 2449, RFC 2595, RFC 3206, RFC 5034).
//
// Invariants a contributor must keep:
// - The maildrop is INBOX as it was at login (RFC 1939 §4): numbering, sizes and unique-ids never change
//   during the session; mail that arrives later is not shown.
// - Nothing is removed unless the client sends QUIT in the TRANSACTION state (RFC 1939 §6). A dropped
//   connection, an idle timeout (RFC 1939 §3) or a server shutdown removes nothing. The marked UIDs are
//   expunged in one store transaction; "+OK" is sent only after it is durable, and the store then
//   notifies IMAP sessions (EXPUNGE).
// - The maildrop lock (RFC 1939 §4, [IN-USE]) is taken after authentication and held until the session
//   ends; it is released before any negative reply to the login (RFC 1939 §4).
// - STLS starts a new phase: buffered plaintext is discarded (Connection::start_tls) and everything learnt
//   before it (a USER name) is forgotten (RFC 2595 §4).
// - Passwords are accepted only over TLS unless `[pop3] plaintext_auth` exempts this client; they never
//   reach a log line.
// - A multi-line response that cannot be completed (store failure mid-message) ends the connection
//   without its terminator, so a truncated message can never look complete.
// - Toolchain rule: a co_await never appears inside a condition (if/while, && / ||) or a co_return
//   expression, and co_return never carries a void expression; results go into a local first. GCC 12.2
//   (Debian 12) miscompiles some of those forms (here: the resumed coroutine handle pointed 8 bytes into
//   the frame of on_stls, SIGILL on STLS).
#include "pop3d/session/session.hpp"

#include <algorithm>
#include <optional>
#include <variant>

#include "common/auth/sasl.hpp"
#include "common/core/log.hpp"
#include "common/daemon/authenticator.hpp"
#include "common/daemon/daemon.hpp"
#include "pop3d/protocol/command.hpp"
#include "pop3d/protocol/maildrop.hpp"
#include "pop3d/protocol/message_stream.hpp"
#include "pop3d/protocol/response.hpp"
#include "pop3d/session/commands.hpp"

namespace roost::pop3d {
namespace {

using namespace roost::pop3;

// Message bytes are read from the store and written to the client in pieces of this size.
constexpr std::uint64_t kChunkSize = 64 * 1024;

enum class State { Authorization, Transaction, Update };

// Storage errors become POP3 response codes here, and only here (RFC 3206 §4).
Code code_for(store::Errc e) {
    switch (e) {
        case store::Errc::InUse: return Code::InUse;
        case store::Errc::Temporary:
        case store::Errc::StorageFull: return Code::SysTemp;
        default: return Code::SysPerm;
    }
}

class Session {
public:
    Session(net::Connection& c, const SessionContext& ctx) : conn_(c), ctx_(ctx), cfg_(ctx.config) {}

    net::awaitable<void> run() {
        // RFC 1939 §3: an autologout timer MUST be at least 10 minutes; [pop3] idle_timeout defaults to 10m
        // (shorter values are the administrator's choice; the tests use seconds).
        conn_.set_timeout(cfg_.pop3_options.idle_timeout);
        // RFC 1939 §4: any positive greeting. No APOP timestamp: APOP is not offered (see on_apop).
        send(ok(cfg_.hostname + " Roost POP3 server ready"));
        std::string line;
        while (!quit_) {
            bool written = co_await flush_if_idle();
            if (!written) co_return;
            auto st = co_await conn_.read_line(line, max_line_length(), true);
            if (st == net::ReadStatus::TooLong) {
                error(err("Line too long"));
                continue;
            }
            if (st == net::ReadStatus::Timeout) {
                // RFC 1939 §3: close without entering UPDATE and without a response.
                log::info(conn_.session_id()) << "pop3: autologout after " << conn_.timeout().count() << "s idle";
                co_return;
            }
            if (st == net::ReadStatus::Shutdown) {
                send(err(Code::SysTemp, "Server shutting down, nothing was deleted"));
                break;
            }
            if (st != net::ReadStatus::Ok) {
                if (state_ == State::Transaction && !maildrop_.deleted_uids().empty())
                    log::info(conn_.session_id()) << "pop3: connection lost without QUIT; nothing deleted";
                co_return;
            }
            ParseOptions options;
            options.max_line_length = max_line_length();
            auto parsed = parse_command(line, options);
            if (auto* e = std::get_if<ParseError>(&parsed)) {
                error(err(e->text));
                continue;
            }
            co_await dispatch(std::get<Command>(parsed));
        }
        co_await flush();
    }

private:
    // ----- output -----
    void send(std::string_view data) { out_ += data; }
    // A client error: counted; after limits.max_errors the session ends (the last reply says why).
    void error(std::string reply) {
        if (++errors_ >= cfg_.limits.max_errors) {
            send(err("Too many bad commands, closing connection"));
            quit_ = true;
            return;
        }
        send(reply);
    }
    net::awaitable<bool> flush() {
        bool written = true;
        if (!out_.empty()) {
            std::string data;
            data.swap(out_);
            written = co_await conn_.write(data);
        }
        co_return written;
    }
    // RFC 2449 §6.6 PIPELINING: replies to a batch of commands may be sent together; flush whenever no
    // complete command is waiting in the input buffer (or enough output has piled up).
    net::awaitable<bool> flush_if_idle() {
        bool written = true;
        if (conn_.buffered().find('\n') == std::string_view::npos || out_.size() >= kChunkSize) written = co_await flush();
        co_return written;
    }

    std::size_t max_line_length() const {
        return std::max<std::size_t>(cfg_.limits.max_line_length, kMinCommandLineLength);
    }

    // ----- policy -----
    // RFC 2595 §2.3 / RFC 8314: passwords only over TLS unless the configuration exempts this client.
    bool login_allowed() const {
        return conn_.tls_active() || Daemon::plaintext_auth_allowed(cfg_.pop3.plaintext_auth, conn_.peer_is_loopback());
    }
    Capabilities capabilities() const {
        Capabilities c;
        // RFC 2449 §5: what is available in AUTHORIZATION is announced in both states; login_allowed() can
        // only change through STLS, which is AUTHORIZATION-only.
        c.user = login_allowed();
        if (login_allowed())
            for (auto m : auth::supported_mechanisms()) c.sasl.emplace_back(m);
        // RFC 2595 §4: STLS is listed when present and permitted in the current state.
        c.stls = ctx_.tls_available && !conn_.tls_active() && state_ == State::Authorization;
        return c;
    }

    // ----- dispatch -----
    // State and TLS checks from the command table, before any handler runs. False: already answered.
    bool admitted(const Command& cmd) {
        const auto& spec = kCommands[cmd.index()];
        const unsigned state_bit = state_ == State::Authorization ? kAuthorization : kTransaction;
        // RFC 1939 §3: a command in the wrong state gets a negative response.
        if (!(spec.states & state_bit)) {
            error(err(std::string(spec.name) +
                      (state_ == State::Authorization ? " is not valid before login" : " is not valid after login")));
            return false;
        }
        if (spec.login && !login_allowed()) {
            // RFC 3206 §5: [AUTH] also covers "an attempt to authenticate in violation of policy".
            error(err(Code::Auth, "Plaintext authentication disallowed on non-secure connections; use STLS"));
            return false;
        }
        return true;
    }

    net::awaitable<void> dispatch(Command& cmd) {
        if (!admitted(cmd)) co_return;
        if (kCommands[cmd.index()].pipelining == Pipelining::Barrier) {
            bool written = co_await flush();
            if (!written) quit_ = true;
            if (quit_) co_return;
        }
        // Commands that wait for the client, the store or the network.
        if (auto* c = std::get_if<Pass>(&cmd)) co_await on_pass(*c);
        else if (auto* c = std::get_if<Auth>(&cmd)) co_await on_auth(*c);
        else if (std::holds_alternative<Stls>(cmd)) co_await on_stls();
        else if (std::holds_alternative<Quit>(cmd)) co_await on_quit();
        else if (auto* c = std::get_if<Retr>(&cmd)) co_await send_message(c->msg, std::nullopt);
        else if (auto* c = std::get_if<Top>(&cmd)) co_await send_message(c->msg, c->lines);
        else dispatch_immediate(cmd);
    }

    // Commands answered from the session's state alone.
    void dispatch_immediate(const Command& cmd) {
        if (auto* c = std::get_if<User>(&cmd)) on_user(*c);
        else if (std::holds_alternative<Apop>(cmd)) on_apop();
        else if (std::holds_alternative<Capa>(cmd)) send(format_capabilities(capabilities()));  // RFC 2449 §5
        else if (std::holds_alternative<Stat>(cmd)) on_stat();
        else if (auto* c = std::get_if<List>(&cmd)) on_list(*c);
        else if (auto* c = std::get_if<Dele>(&cmd)) on_dele(*c);
        else if (std::holds_alternative<Noop>(cmd)) send(ok());  // RFC 1939 §5
        else if (std::holds_alternative<Rset>(cmd)) on_rset();
        else if (auto* c = std::get_if<Uidl>(&cmd)) on_uidl(*c);
    }

    // ----- AUTHORIZATION state -----

    // RFC 1939 §7 USER: always accepted, so the answer does not reveal which accounts exist; the password
    // check happens at PASS.
    void on_user(const User& c) {
        user_ = c.name;
        send(ok("Send PASS"));
    }

    net::awaitable<void> on_pass(Pass& c) {
        if (!user_) {
            error(err("Send USER first"));
            co_return;
        }
        auth::Credentials creds{{}, std::move(*user_), std::move(c.password)};
        user_.reset();  // RFC 1939 §7: after a failed PASS the client starts again with USER
        co_await login(creds);
    }

    // RFC 1939 §7 APOP needs the server to keep a plaintext-equivalent secret per user (the MD5 digest
    // covers the shared secret itself); Roost stores only Argon2 hashes, so APOP is not offered: the greeting
    // carries no timestamp (RFC 2449 §6: that is how APOP is advertised) and the command is refused.
    void on_apop() { error(err("APOP is not supported; use USER/PASS or AUTH over TLS")); }

    net::awaitable<void> on_auth(const Auth& c) {
        user_.reset();
        if (c.mechanism.empty()) {
            // Deviation: a bare "AUTH" lists the mechanisms (the RFC 1734-era probe some clients still send;
            // Dovecot answers it the same way). RFC 5034 clients use CAPA's SASL line.
            std::string out = ok("Supported mechanisms follow");
            for (auto m : auth::supported_mechanisms()) {
                out += m;
                out += "\r\n";
            }
            out += kEndOfMultiline;
            send(out);
            co_return;
        }
        auto sasl = auth::SaslServer::create(c.mechanism);
        // RFC 5034 §4: an unsupported mechanism is rejected with -ERR.
        if (!sasl) {
            error(err("Unsupported authentication mechanism"));
            co_return;
        }
        std::optional<std::string_view> initial;
        if (c.initial_response) initial = *c.initial_response;  // "=" is an empty response (RFC 5034 §4)
        auto creds = co_await sasl_exchange(*sasl, initial);
        if (creds) co_await login(*creds);
    }

    // RFC 5034 §4: challenges "+ <base64>", one client line each. Returns the credentials, or nullopt when
    // the exchange ended otherwise (already answered).
    net::awaitable<std::optional<auth::Credentials>> sasl_exchange(auth::SaslServer& sasl,
                                                                   std::optional<std::string_view> initial) {
        auto step = sasl.start(initial);
        std::string line;
        while (auto* ch = std::get_if<auth::SaslChallenge>(&step)) {
            send(challenge(ch->base64));
            bool written = co_await flush();
            auto st = net::ReadStatus::Eof;
            // RFC 5034 §4: responses may be longer than commands; bounded by the SASL layer's limit.
            if (written) st = co_await conn_.read_line(line, auth::kMaxSaslLineBytes, false);
            if (st == net::ReadStatus::TooLong) {
                error(err("Authentication response too long"));
                break;
            }
            if (st != net::ReadStatus::Ok) {
                quit_ = true;
                break;
            }
            step = sasl.step(line);
        }
        std::optional<auth::Credentials> creds;
        if (auto* done = std::get_if<auth::SaslDone>(&step)) creds = std::move(done->creds);
        // RFC 5034 §4: "*" cancels, and the server MUST reject the AUTH command.
        else if (std::holds_alternative<auth::SaslCancelled>(step)) error(err("Authentication cancelled"));
        // Undecodable base64 or a malformed PLAIN message: a protocol error, not a credentials problem.
        else if (std::holds_alternative<auth::SaslFailed>(step)) error(err("Malformed authentication data"));
        co_return creds;
    }

    // Verifies the credentials through the shared authenticator (which serves the throttle's delay before a
    // failure is answered), then opens the maildrop.
    net::awaitable<void> login(const auth::Credentials& creds) {
        auto outcome = co_await authenticate(conn_, ctx_.store, cfg_, creds);
        if (outcome.kind == AuthOutcome::Kind::Ok) open_maildrop(std::move(outcome.account));
        else refuse_login(outcome.kind);
    }

    void refuse_login(AuthOutcome::Kind kind) {
        switch (kind) {
            case AuthOutcome::Kind::Ok: break;
            // RFC 3206 §5 (with AUTH-RESP-CODE advertised): wrong user name or password.
            case AuthOutcome::Kind::Failed: return error(err(Code::Auth, "Authentication failed"));
            // Too many recent failures for this address or account. RFC 2449 §8.1.1 [LOGIN-DELAY]: logins are
            // refused until a delay has passed; clients do not ask for a new password (which [AUTH] would
            // make them do, although the password may be right) and retry later.
            case AuthOutcome::Kind::LockedOut:
                return error(err(Code::LoginDelay, "Too many failed logins; try again later"));
            // RFC 3206 §4: the store is unavailable.
            case AuthOutcome::Kind::Temporary:
                return send(err(Code::SysTemp, "Authentication temporarily unavailable"));
        }
    }

    // RFC 1939 §4: lock, then snapshot INBOX. On any failure the lock is released before the -ERR and the
    // session stays in AUTHORIZATION.
    void open_maildrop(store::Account account) {
        auto fail = [&](const store::Error& e, std::string_view what) {
            lock_.reset();
            log::warn(conn_.session_id()) << "pop3: " << what << " for " << account.address << ": "
                                          << store::errc_name(e.code) << ": " << e.message;
            auto code = code_for(e.code);
            if (code == Code::InUse) send(err(code, "Maildrop is in use by another POP3 session"));
            else send(err(code, "Cannot open maildrop: " + std::string(what)));
        };
        auto lock = ctx_.store.lock_maildrop(account.id);
        if (!lock) return fail(lock.error(), "lock failed");
        lock_ = std::move(lock).value();
        auto inbox = ctx_.store.find_mailbox(account.id, "INBOX");
        if (!inbox) return fail(inbox.error(), "INBOX not found");
        auto messages = ctx_.store.list_messages(inbox->id);
        if (!messages) return fail(messages.error(), "cannot list messages");
        std::vector<MaildropMessage> snapshot;
        snapshot.reserve(messages->size());
        for (const auto& m : *messages) snapshot.push_back({m.uid, m.size, m.blob_id});
        account_ = std::move(account);
        mailbox_id_ = inbox->id;
        maildrop_ = Maildrop(inbox->uidvalidity, std::move(snapshot));
        state_ = State::Transaction;
        log::info(conn_.session_id()) << "pop3: login " << account_.address << " from " << conn_.peer_ip()
                                      << (conn_.tls_active() ? " (TLS)" : "") << " messages=" << maildrop_.count()
                                      << " size=" << maildrop_.total_size();
        send(ok("Maildrop locked and ready, " + std::to_string(maildrop_.count()) + " messages (" +
                std::to_string(maildrop_.total_size()) + " octets)"));
    }

    net::awaitable<void> on_stls() {
        // RFC 2595 §4: "-ERR Command not permitted when TLS active".
        if (conn_.tls_active()) {
            error(err("Command not permitted when TLS active"));
            co_return;
        }
        if (!ctx_.tls_available) {
            error(err("TLS not available"));
            co_return;
        }
        send(ok("Begin TLS negotiation"));
        bool secured = co_await flush();
        if (secured) secured = co_await conn_.start_tls();
        if (!secured) quit_ = true;
        // RFC 2595 §4: the session stays in AUTHORIZATION; nothing learnt before TLS carries over.
        user_.reset();
    }

    // ----- TRANSACTION state -----

    // RFC 1939 §5 STAT: "+OK nn mm", deleted messages not counted.
    void on_stat() {
        send(ok(std::to_string(maildrop_.count()) + ' ' + std::to_string(maildrop_.total_size())));
    }

    // The reply for a message number that cannot be used (RFC 1939 §5: "-ERR no such message").
    void refuse(Maildrop::Lookup l, std::uint32_t msg) {
        if (l == Maildrop::Lookup::Deleted) send(err("Message " + std::to_string(msg) + " is deleted"));
        else send(err("No such message"));
    }

    // RFC 1939 §5 LIST [msg]: sizes are the stored octets, which RETR sends before dot-stuffing.
    void on_list(const List& c) {
        if (c.msg) {
            auto l = maildrop_.lookup(*c.msg);
            if (l != Maildrop::Lookup::Found) return refuse(l, *c.msg);
            return send(ok(scan_listing(*c.msg, maildrop_.message(*c.msg).size)));
        }
        send(ok(std::to_string(maildrop_.count()) + " messages (" + std::to_string(maildrop_.total_size()) + " octets)"));
        for (std::uint32_t i = 1; i <= maildrop_.snapshot_size(); ++i) {
            if (maildrop_.is_deleted(i)) continue;
            out_ += scan_listing(i, maildrop_.message(i).size);
            out_ += "\r\n";
        }
        out_ += kEndOfMultiline;
    }

    // RFC 1939 §7 UIDL [msg].
    void on_uidl(const Uidl& c) {
        if (c.msg) {
            auto l = maildrop_.lookup(*c.msg);
            if (l != Maildrop::Lookup::Found) return refuse(l, *c.msg);
            return send(ok(unique_id_listing(*c.msg, maildrop_.unique_id(*c.msg))));
        }
        send(ok("Unique-ID listing follows"));
        for (std::uint32_t i = 1; i <= maildrop_.snapshot_size(); ++i) {
            if (maildrop_.is_deleted(i)) continue;
            out_ += unique_id_listing(i, maildrop_.unique_id(i));
            out_ += "\r\n";
        }
        out_ += kEndOfMultiline;
    }

    // RETR (RFC 1939 §5) and TOP (RFC 1939 §7): the stored bytes, read and sent in chunks, dot-stuffed.
    net::awaitable<void> send_message(std::uint32_t msg, std::optional<std::uint64_t> top_lines) {
        auto l = maildrop_.lookup(msg);
        if (l != Maildrop::Lookup::Found) {
            refuse(l, msg);
            co_return;
        }
        const auto& m = maildrop_.message(msg);
        // The first chunk is read before "+OK" so that a missing message can still be answered with -ERR.
        auto chunk = ctx_.store.blob_range(m.blob_id, 0, kChunkSize);
        if (!chunk) {
            log::warn(conn_.session_id()) << "pop3: cannot read message uid=" << m.uid << ": "
                                          << store::errc_name(chunk.error().code) << ": " << chunk.error().message;
            if (chunk.error().code == store::Errc::NotFound) send(err("Message was removed by another session"));
            else send(err(code_for(chunk.error().code), "Cannot read message"));
            co_return;
        }
        send(top_lines ? ok("Top of message follows") : ok(std::to_string(m.size) + " octets"));
        DotStuffer stuffer;
        std::optional<TopFilter> top;
        if (top_lines) top.emplace(*top_lines);
        std::uint64_t offset = 0;
        bool complete = false;
        for (;;) {
            std::string data = std::move(chunk).value();
            const bool last = data.size() < kChunkSize;
            offset += data.size();
            std::string_view part = data;
            if (top) part = top->feed(part);
            stuffer.feed(part, out_);
            if (last || (top && top->done())) {
                complete = true;
                break;
            }
            bool written = true;
            if (out_.size() >= kChunkSize) written = co_await flush();
            if (!written) break;
            chunk = ctx_.store.blob_range(m.blob_id, offset, kChunkSize);
            if (!chunk) {
                log::error(conn_.session_id()) << "pop3: message uid=" << m.uid << " unreadable at offset " << offset
                                               << ": " << store::errc_name(chunk.error().code) << ": "
                                               << chunk.error().message;
                break;
            }
        }
        if (!complete) {
            // Part of the message may be on its way: no -ERR can follow a "+OK" now. End the connection
            // without the terminator so the client cannot take a truncated message for a whole one.
            quit_ = true;
            co_await flush();
            co_return;
        }
        stuffer.finish(out_);
        if (!top && (offset != m.size || stuffer.added_line_end()))
            log::warn(conn_.session_id()) << "pop3: message uid=" << m.uid << " is not in canonical form (listed size "
                                          << m.size << ", sent " << offset + (stuffer.added_line_end() ? 2 : 0) << ")";
    }

    // RFC 1939 §5 DELE: marks only; QUIT removes.
    void on_dele(const Dele& c) {
        auto l = maildrop_.mark_deleted(c.msg);
        if (l == Maildrop::Lookup::Deleted) return send(err("Message " + std::to_string(c.msg) + " already deleted"));
        if (l == Maildrop::Lookup::NoSuchMessage) return send(err("No such message"));
        send(ok("Message " + std::to_string(c.msg) + " deleted"));
    }

    // RFC 1939 §5 RSET.
    void on_rset() {
        maildrop_.reset();
        send(ok("Maildrop has " + std::to_string(maildrop_.count()) + " messages (" +
                std::to_string(maildrop_.total_size()) + " octets)"));
    }

    // ----- QUIT and the UPDATE state -----
    net::awaitable<void> on_quit() {
        quit_ = true;
        // RFC 1939 §4: QUIT in AUTHORIZATION ends the session without touching any maildrop.
        if (state_ == State::Authorization) {
            send(ok("Roost POP3 server signing off"));
            co_return;
        }
        // RFC 1939 §6: the UPDATE state removes every marked message, in one store transaction.
        state_ = State::Update;
        auto uids = maildrop_.deleted_uids();
        std::optional<store::Result<std::vector<std::uint32_t>>> result;
        if (!uids.empty()) {
            co_await conn_.suspend_until([&](std::function<void()> resume) {
                ctx_.store.expunge(mailbox_id_, uids,
                                   [&result, resume = std::move(resume)](store::Result<std::vector<std::uint32_t>> r) {
                                       result.emplace(std::move(r));
                                       resume();
                                   });
            });
        }
        finish_update(uids.size(), result);
    }

    void finish_update(std::size_t marked, const std::optional<store::Result<std::vector<std::uint32_t>>>& result) {
        if (result && !*result) {
            const auto& e = result->error();
            log::error(conn_.session_id()) << "pop3: expunge failed for " << account_.address << ": "
                                           << store::errc_name(e.code) << ": " << e.message;
            // RFC 1939 §6: "-ERR some deleted messages not removed"; the one transaction removed none.
            return send(err(code_for(e.code) == Code::SysPerm ? Code::SysPerm : Code::SysTemp,
                            "Deleted messages not removed; try again"));
        }
        // Messages another session expunged meanwhile are simply gone already.
        if (result)
            log::info(conn_.session_id()) << "pop3: " << account_.address << " deleted " << (*result)->size() << " of "
                                          << marked << " marked";
        auto left = maildrop_.count();
        send(ok("Roost POP3 server signing off (" + (left ? std::to_string(left) + " messages left)" : "maildrop empty)")));
    }

    net::Connection& conn_;
    const SessionContext& ctx_;
    const Config& cfg_;
    std::string out_;
    State state_ = State::Authorization;
    bool quit_ = false;
    unsigned errors_ = 0;
    std::optional<std::string> user_;  // USER name awaiting PASS
    store::Account account_;
    std::unique_ptr<store::Lock> lock_;  // RFC 1939 §4 exclusive-access lock, held until the session ends
    std::int64_t mailbox_id_ = 0;
    Maildrop maildrop_;
};

}  // namespace

net::awaitable<void> run_session(net::Connection& conn, const SessionContext& ctx) {
    Session s(conn, ctx);
    co_await s.run();
}

}  // namespace roost::pop3d
