// SMTP session state machine.
//
// Invariants a contributor must keep:
// - Nothing is written to the client while a store write is pending except after it completes; the reply
//   `250` after DATA/BDAT LAST is sent only once the delivery transaction is durable (group commit).
// - STARTTLS starts a new phase: buffered plaintext is discarded (Connection::start_tls) and the whole
//   session state (HELO, transaction, authentication) is reset (RFC 3207 §4.2).
// - Unauthenticated clients may only reach local domains (no open relay; RFC 5321 §3.6, RFC 5068).
// - Data bytes (DATA, BDAT chunks) are always consumed in full, even when the transaction is refused, so
//   they can never be read as commands.
// - Every 4xx/5xx that refuses a transaction step for what it asks (MAIL: size, authentication, sender;
//   RCPT: unknown or disabled user, relaying, quota, limits; the data: size, bare line ends, NUL; the
//   delivery itself) goes to the delivery log through MailStore::record_rejection, which never blocks.
//   Sequencing and syntax errors do not: they are protocol faults, not refused mail.
#include "smtpd/session/session.hpp"

#include <chrono>
#include <ctime>
#include <optional>
#include <set>
#include <variant>

#include "common/auth/sasl.hpp"
#include "common/core/log.hpp"
#include "common/daemon/authenticator.hpp"
#include "common/daemon/daemon.hpp"
#include "common/mail/header.hpp"
#include "smtpd/protocol/command.hpp"
#include "smtpd/protocol/data_reader.hpp"
#include "smtpd/protocol/esmtp.hpp"
#include "smtpd/protocol/reply.hpp"
#include "storage/address.hpp"
#include "storage/resolver.hpp"

namespace roost::smtpd {
namespace {

using namespace roost::smtp;
namespace replies = roost::smtp::replies;

struct Transaction {
    bool active = false;
    Path from;
    MailParams params;
    std::vector<std::string> recipients;  // accepted forward paths (for Received: "for" and logs)
    std::set<std::int64_t> accounts;
    std::vector<store::QueueRecipient> remote;
    std::set<std::string> remote_seen;
    std::uint32_t rcpt_count = 0;
    bool bdat = false;                      // BDAT used: DATA is no longer allowed (RFC 3030 §2)
    std::optional<BdatReader> bdat_reader;
};

std::string rfc5322_date(std::time_t t) {
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S %z", &tm);
    return buf;
}

// A client-supplied HELO name is only ever shown inside a Received: header; keep it printable.
std::string printable(std::string_view s) {
    std::string o;
    for (unsigned char c : s.substr(0, 255)) o += (c > 32 && c < 127 && c != '(' && c != ')') ? char(c) : '?';
    return o;
}

class Session {
public:
    Session(net::Connection& c, const SessionContext& ctx) : conn_(c), ctx_(ctx), cfg_(ctx.config) {}

    net::awaitable<void> run() {
        conn_.set_timeout(cfg_.smtp_options.command_timeout);
        // RFC 5321 §4.3.1 / §4.2: greeting with our name.
        send(220, "", cfg_.hostname + " ESMTP Roost");
        { bool awaited = co_await flush(); if (!awaited) co_return; }
        std::string line;
        const std::size_t max_line = std::max<std::size_t>(parse_options().max_line_length,
                                                           parse_options().max_auth_line_length);
        while (!quit_) {
            { bool awaited = co_await flush_if_idle(); if (!awaited) co_return; }
            auto st = co_await conn_.read_line(line, max_line, true);
            if (st == net::ReadStatus::TooLong) {
                // RFC 5321 §4.5.3.1.10: 500 for a command line that is too long.
                if (!error(replies::kLineTooLong)) break;
                continue;
            }
            if (st == net::ReadStatus::Timeout) {
                send(replies::kTimeout);  // RFC 5321 §4.5.3.2.7
                break;
            }
            if (st == net::ReadStatus::Shutdown) {
                send(replies::kShuttingDown);  // RFC 5321 §3.8
                break;
            }
            if (st != net::ReadStatus::Ok) co_return;
            auto parsed = parse_command(line, parse_options());
            if (auto* e = std::get_if<ParseError>(&parsed)) {
                if (!error(Reply{e->code, e->enhanced, e->text})) break;
                continue;
            }
            co_await dispatch(std::get<Command>(parsed));
            if (conn_.shutting_down() && !tx_.active && !quit_) {
                send(replies::kShuttingDown);
                break;
            }
        }
        co_await flush();
    }

private:
    // ----- replies -----
    void send(const Reply& r) { out_ += format_reply(r); }
    void send(int code, std::string_view enhanced, const std::string& text) { out_ += format_reply(code, enhanced, text); }
    // Counts a client error; false once the session must end (RFC 5321 §4.3.2 allows 421 on abuse).
    bool error(const Reply& r) {
        send(r);
        if (++errors_ >= cfg_.limits.max_errors) {
            send(Reply{421, "4.7.0", "Too many errors, closing connection"});
            quit_ = true;
            return false;
        }
        return true;
    }
    net::awaitable<bool> flush() {
        if (out_.empty()) co_return true;
        std::string data;
        data.swap(out_);
        co_return co_await conn_.write(data);
    }
    // RFC 2920 §3.1: with PIPELINING, replies to a group of commands may be sent together; we flush
    // whenever no complete command is waiting in the input buffer.
    net::awaitable<bool> flush_if_idle() {
        if (conn_.buffered().find('\n') == std::string_view::npos || out_.size() > 16384) co_return co_await flush();
        co_return true;
    }

    // ----- what this listener offers -----
    bool auth_offered() const {
        return ctx_.mode == Mode::Submission &&
               (conn_.tls_active() || Daemon::plaintext_auth_allowed(cfg_.submission.plaintext_auth, conn_.peer_is_loopback()));
    }
    Extensions extensions() const {
        Extensions e;
        e.size = cfg_.limits.max_message_size;
        e.starttls = ctx_.tls_available && !conn_.tls_active();
        if (auth_offered() && !authenticated()) e.auth_mechanisms = {"PLAIN", "LOGIN"};
        return e;
    }
    ParseOptions parse_options() const {
        auto o = parse_options_for(extensions(), tx_.active && tx_.params.smtputf8);
        // RFC 4954 §4, §6: on a submission listener AUTH is always a known command (and MAIL's AUTH=
        // parameter stays valid after authenticating), so on_auth() can answer 538 5.7.11 before TLS
        // and 503 once authenticated instead of the parser's 502 "not implemented".
        if (ctx_.mode == Mode::Submission) o.auth = true;
        return o;
    }
    bool authenticated() const { return account_.id != 0; }

    // ----- the delivery log -----
    // Sends `r` and records the refusal; `counted` also counts it as a client error (see error()).
    bool refuse(const Reply& r, std::string sender, std::string recipient, bool counted = true,
                std::uint64_t size = 0, std::string subject = {}) {
        store::Rejection rej;
        rej.client = conn_.peer_ip();
        rej.sender = std::move(sender);
        rej.recipient = std::move(recipient);
        rej.subject = std::move(subject);
        rej.size = size;
        rej.reply = std::to_string(r.code) + (r.enhanced.empty() ? "" : " " + std::string(r.enhanced)) + " " +
                    std::string(r.text);
        ctx_.store.record_rejection(std::move(rej));
        if (counted) return error(r);
        send(r);
        return true;
    }
    static std::string path_text(const Path& p) { return p.null ? std::string() : p.address(); }
    // The Subject: of a refused message, if its header was read (for the log only; RFC 2047 decoded).
    static std::string subject_of(std::string_view data) {
        auto fields = mail::split_header_fields(data.substr(0, 64 * 1024), 200);
        auto* f = mail::find_field(fields, "subject");
        return f ? mail::decode_rfc2047(mail::unfold_trim(f->value)) : std::string();
    }

    void reset_transaction() { tx_ = Transaction{}; }

    // ----- dispatch -----
    net::awaitable<void> dispatch(Command& cmd) {
        if (auto* c = std::get_if<Ehlo>(&cmd)) { on_ehlo(*c); co_return; }
        if (auto* c = std::get_if<Mail>(&cmd)) { on_mail(*c); co_return; }
        if (auto* c = std::get_if<Rcpt>(&cmd)) { on_rcpt(*c); co_return; }
        if (std::holds_alternative<Data>(cmd)) { co_await on_data(); co_return; }
        if (auto* c = std::get_if<Bdat>(&cmd)) { co_await on_bdat(*c); co_return; }
        if (std::holds_alternative<Rset>(cmd)) {
            reset_transaction();  // RFC 5321 §4.1.1.5
            { send(replies::kOk); co_return; }
        }
        if (std::holds_alternative<Noop>(cmd)) { send(replies::kOk); co_return; }
        if (std::holds_alternative<Quit>(cmd)) {
            send(replies::kBye);
            quit_ = true;
            co_return;
        }
        // RFC 5321 §3.5.3: 252 without confirming anything (no account disclosure).
        if (std::holds_alternative<Vrfy>(cmd)) { send(replies::kCannotVrfy); co_return; }
        if (std::holds_alternative<Expn>(cmd)) {
            (void)error(Reply{502, "5.5.1", "EXPN not available"});
            co_return;
        }
        if (std::holds_alternative<Help>(cmd)) { send(replies::kHelp); co_return; }
        if (std::holds_alternative<StartTls>(cmd)) { co_await on_starttls(); co_return; }
        if (auto* c = std::get_if<Auth>(&cmd)) { co_await on_auth(*c); co_return; }
    }

    void on_ehlo(const Ehlo& c) {
        // RFC 5321 §4.1.4: EHLO/HELO resets the transaction and may be repeated.
        reset_transaction();
        helo_ = c.domain;
        esmtp_ = c.extended;
        if (!c.extended) return send(250, "", cfg_.hostname);
        out_ += format_ehlo_reply(cfg_.hostname, extensions());
    }

    void on_mail(const Mail& c) {
        if (helo_.empty()) return (void)error(Reply{503, "5.5.1", "Send EHLO or HELO first"});
        if (tx_.active) return (void)error(Reply{503, "5.5.1", "Nested MAIL command"});
        auto sender = path_text(c.reverse_path);
        if (ctx_.mode == Mode::Submission && !authenticated()) {
            // RFC 6409 §4.3 / RFC 4954 §6
            if (!conn_.tls_active() && !auth_offered()) return (void)refuse(replies::kStartTlsRequired, sender, "");
            return (void)refuse(replies::kAuthRequired, sender, "");
        }
        if (c.params.size && *c.params.size > cfg_.limits.max_message_size)
            return (void)refuse(replies::kMessageTooBig, sender, "", true, *c.params.size);  // RFC 1870 §6.1
        if (c.params.smtputf8 && !esmtp_) return (void)error(replies::kSyntaxError);
        if (authenticated() && !c.reverse_path.null) {
            // Authenticated senders may only use addresses they own (Postfix reject_sender_login_mismatch).
            if (!sender_owned(c.reverse_path))
                return (void)refuse(Reply{553, "5.7.1", "Sender address not owned by you"}, sender, "");
        }
        tx_.active = true;
        tx_.from = c.reverse_path;
        tx_.params = c.params;
        send(replies::kSenderOk);
    }

    bool sender_owned(const Path& from) {
        auto addr = store::normalize_address(local_part_value(from.local_part) + "@" + from.domain);
        if (!addr) return false;
        if (*addr == account_.address) return true;
        auto parts = store::split_address(*addr);
        if (auto plus = parts.local.find('+'); plus != std::string::npos && plus > 0)
            if (parts.local.substr(0, plus) + "@" + parts.domain == account_.address) return true;
        for (const auto& source : {*addr, "@" + parts.domain}) {
            if (source.front() == '@') continue;  // a catch-all does not grant every address of a domain
            auto targets = ctx_.store.alias_targets(source);
            if (targets)
                for (auto& t : *targets)
                    if (t == account_.address) return true;
        }
        return false;
    }

    void on_rcpt(const Rcpt& c) {
        if (!tx_.active) return (void)error(Reply{503, "5.5.1", "Need MAIL before RCPT"});
        auto sender = path_text(tx_.from);
        auto as_given = c.postmaster_only ? std::string("postmaster")
                                          : local_part_value(c.forward_path.local_part) + "@" + c.forward_path.domain;
        if (tx_.rcpt_count >= cfg_.limits.max_recipients) {
            // RFC 5321 §4.5.3.1.10 (not counted as an error)
            (void)refuse(replies::kTooManyRecipients, sender, as_given, false);
            return;
        }
        std::string address;
        if (c.postmaster_only) address = "postmaster";  // RFC 5321 §4.1.1.3
        else {
            auto local = local_part_value(c.forward_path.local_part);
            // Classic relay tricks: '%' / '!' routing and quoted '@' inside the local part (RFC 5321 §3.6.1
            // lets us refuse source routing). Nobody has a mailbox with these characters here.
            if (local.find_first_of("@%!") != std::string::npos)
                return (void)refuse(replies::kRelayDenied, sender, as_given);
            auto domain = canonical_domain(c.forward_path.domain);
            if (!domain) return (void)error(Reply{501, "5.1.3", "Bad recipient address syntax"});
            address = local + "@" + *domain;
        }
        store::ResolveOptions opt;
        opt.postmaster_account = cfg_.smtp_options.postmaster;
        auto r = store::resolve_recipient(ctx_.store, address, opt);
        if (!r) {
            if (r.error().code == store::Errc::Temporary || r.error().code == store::Errc::Internal) {
                (void)refuse(Reply{451, "4.3.0", "Temporary lookup failure"}, sender, address, false);
                return;
            }
            // Not a valid mailbox name in our terms: unknown if local, a remote address otherwise.
            auto domain = canonical_domain(c.forward_path.domain);
            if (domain && ctx_.store.find_domain(*domain).ok()) return (void)refuse(replies::kNoSuchUser, sender, address);
            return accept_remote(c, address);
        }
        switch (r->kind) {
            case store::Recipient::Kind::Local:
                for (auto id : r->account_ids) tx_.accounts.insert(id);
                for (auto& t : r->remote_targets) add_remote(t, c);
                break;
            case store::Recipient::Kind::UnknownUser: return (void)refuse(replies::kNoSuchUser, sender, address);
            case store::Recipient::Kind::Disabled:
                return (void)refuse(Reply{550, "5.2.1", "Mailbox disabled"}, sender, address);
            case store::Recipient::Kind::OverQuota:
                return (void)refuse(replies::kMailboxFullTemp, sender, address, false);
            case store::Recipient::Kind::NotLocal: return accept_remote(c, address);
        }
        ++tx_.rcpt_count;
        tx_.recipients.push_back(address);
        send(replies::kRecipientOk);
    }

    void accept_remote(const Rcpt& c, const std::string& address) {
        // RFC 5321 §3.6.1 / RFC 5068 §3: relay only for authenticated submission.
        if (!authenticated() || c.forward_path.domain_is_address_literal)
            return (void)refuse(replies::kRelayDenied, path_text(tx_.from), address);
        add_remote(address, c);
        ++tx_.rcpt_count;
        tx_.recipients.push_back(address);
        send(replies::kRecipientOk);
    }

    void add_remote(const std::string& address, const Rcpt& c) {
        if (!tx_.remote_seen.insert(address).second) return;
        tx_.remote.push_back({address, c.params.orcpt, c.params.notify});
    }

    bool has_recipients() const { return !tx_.accounts.empty() || !tx_.remote.empty(); }

    net::awaitable<void> on_data() {
        if (!tx_.active) { (void)error(Reply{503, "5.5.1", "Need MAIL command"}); co_return; }
        if (tx_.bdat) { (void)error(Reply{503, "5.5.1", "DATA not allowed after BDAT"}); co_return; }
        if (!has_recipients()) { (void)error(replies::kNoValidRecipients); co_return; }  // RFC 5321 §3.3
        send(replies::kStartMailInput);
        { bool awaited = co_await flush(); if (!awaited) { quit_ = true; co_return; } }
        DataLimits limits;
        limits.max_message_size = cfg_.limits.max_message_size;
        limits.max_line_length = cfg_.limits.max_line_length;
        DataReader reader(limits);
        // The whole message is one transfer: data_timeout plus time for its size at a minimum rate.
        conn_.set_timeout(cfg_.smtp_options.data_timeout);
        conn_.begin_transfer();
        for (;;) {
            auto r = reader.feed(conn_.buffered());
            conn_.consume(r.consumed);
            if (r.done) break;
            auto st = co_await conn_.fill();
            if (st != net::ReadStatus::Ok) {
                conn_.end_transfer();
                conn_.set_timeout(cfg_.smtp_options.command_timeout);
                if (st == net::ReadStatus::Timeout) send(replies::kTimeout);
                quit_ = true;  // RFC 5321 §4.1.1.4: an incomplete message is never delivered
                co_return;
            }
        }
        conn_.end_transfer();
        conn_.set_timeout(cfg_.smtp_options.command_timeout);
        if (auto rej = reader.flags().rejection()) {
            auto subject = reader.flags().too_big ? std::string() : subject_of(reader.take_message());
            (void)refuse(*rej, path_text(tx_.from), recipients_text(), false, reader.size(), std::move(subject));
            reset_transaction();
            co_return;
        }
        co_await deliver(reader.take_message());
    }

    // The accepted recipients of the transaction, for a log line about the whole message.
    std::string recipients_text() const {
        std::string out;
        for (auto& r : tx_.recipients) out += (out.empty() ? "" : ", ") + r;
        return out;
    }

    net::awaitable<void> on_bdat(const Bdat& c) {
        // RFC 3030 §2: the chunk is read in full whatever the answer will be.
        if (!tx_.bdat_reader) {
            DataLimits limits;
            limits.max_message_size = cfg_.limits.max_message_size;
            limits.max_line_length = cfg_.limits.max_line_length;
            tx_.bdat_reader.emplace(limits);
        }
        auto& reader = *tx_.bdat_reader;
        reader.start_chunk(c.size, c.last);
        conn_.set_timeout(cfg_.smtp_options.data_timeout);
        conn_.begin_transfer();  // the chunk as a whole, like a DATA message
        for (;;) {
            auto r = reader.feed(conn_.buffered());
            conn_.consume(r.consumed);
            if (reader.chunk_done()) break;
            auto st = co_await conn_.fill();
            if (st != net::ReadStatus::Ok) {
                conn_.end_transfer();
                if (st == net::ReadStatus::Timeout) send(replies::kTimeout);
                quit_ = true;
                co_return;
            }
        }
        conn_.end_transfer();
        conn_.set_timeout(cfg_.smtp_options.command_timeout);
        if (!tx_.active) {
            tx_.bdat_reader.reset();
            { (void)error(Reply{503, "5.5.1", "Need MAIL command"}); co_return; }
        }
        if (!has_recipients()) {
            reset_transaction();
            { (void)error(replies::kNoValidRecipients); co_return; }
        }
        tx_.bdat = true;
        if (!c.last) {
            // A message already over the limit is refused now; the client should stop sending chunks.
            if (reader.flags().too_big) {
                (void)refuse(replies::kMessageTooBig, path_text(tx_.from), recipients_text(), false, reader.size());
                reset_transaction();
                co_return;
            }
            { send(replies::kChunkAccepted); co_return; }
        }
        if (auto rej = reader.flags().rejection()) {
            auto subject = reader.flags().too_big ? std::string() : subject_of(reader.take_message());
            (void)refuse(*rej, path_text(tx_.from), recipients_text(), false, reader.size(), std::move(subject));
            reset_transaction();
            co_return;
        }
        co_await deliver(reader.take_message());
    }

    std::string received_header(std::time_t now) const {
        // RFC 5321 §4.4 trace information; protocol names from RFC 3848 / RFC 6531 §3.7.3.
        std::string with = tx_.params.smtputf8 ? "UTF8SMTP" : (esmtp_ ? "ESMTP" : "SMTP");
        if (conn_.tls_active()) with += "S";
        if (authenticated()) with += "A";
        if (with == "SMTPS" || with == "SMTPA" || with == "SMTPSA") with = "E" + with;
        std::string h = "Received: from " + printable(helo_) + " ([" + conn_.peer_ip() + "])\r\n\tby " + cfg_.hostname +
                        " (Roost) with " + with + " id " + conn_.session_id() + "." + std::to_string(delivered_ + 1);
        if (conn_.tls_active()) h += "\r\n\t(" + conn_.tls_description() + ")";
        if (tx_.recipients.size() == 1 && tx_.recipients[0].find_first_of("<>\r\n") == std::string::npos)
            h += "\r\n\tfor <" + tx_.recipients[0] + ">";
        h += "; " + rfc5322_date(now) + "\r\n";
        return h;
    }

    net::awaitable<void> deliver(std::string data) {
        auto now = std::time(nullptr);
        store::DeliveryRequest req;
        // RFC 5321 §4.4: the delivering server adds Return-Path with the reverse-path.
        std::string prefix;
        if (!tx_.accounts.empty()) prefix = "Return-Path: <" + tx_.from.address() + ">\r\n";
        prefix += received_header(now);
        req.raw.reserve(prefix.size() + data.size());
        req.raw = std::move(prefix);
        req.raw += data;
        data.clear();
        data.shrink_to_fit();
        req.accounts.assign(tx_.accounts.begin(), tx_.accounts.end());
        req.internal_date = now;
        req.envelope_from = tx_.from.address();
        req.remote = tx_.remote;
        req.dsn_envid = tx_.params.envid;
        if (tx_.params.ret) req.dsn_ret = *tx_.params.ret == Ret::Full ? "FULL" : "HDRS";
        auto size = req.raw.size();

        std::optional<store::Result<store::DeliveryResult>> result;
        co_await conn_.suspend_until([&](std::function<void()> resume) {
            ctx_.store.deliver(std::move(req), [&result, resume = std::move(resume)](store::Result<store::DeliveryResult> r) {
                result.emplace(std::move(r));
                resume();
            });
        });
        auto& r = *result;
        if (r) {
            ++delivered_;
            auto id = conn_.session_id() + "." + std::to_string(delivered_);
            log::info(conn_.session_id()) << "delivered id=" << id << " from=<" << log::escape(tx_.from.address())
                                          << "> local=" << tx_.accounts.size() << " remote=" << tx_.remote.size()
                                          << " size=" << size;
            send(250, "2.6.0", "Message accepted as " + id);
        } else {
            log::error(conn_.session_id()) << "delivery failed: " << store::errc_name(r.error().code) << ": "
                                           << r.error().message;
            Reply reply = replies::kLocalError;
            switch (r.error().code) {
                case store::Errc::OverQuota: reply = replies::kMailboxFullTemp; break;
                // RFC 3463: X.3.1 "mail system full"; X.3.0 for a busy or failing store. Both temporary.
                case store::Errc::StorageFull: reply = replies::kInsufficientStorage; break;  // 452 4.3.1
                case store::Errc::Temporary: reply = replies::kTemporaryFailure; break;       // 451 4.3.0
                default: break;
            }
            (void)refuse(reply, path_text(tx_.from), recipients_text(), false, size);
        }
        reset_transaction();
    }

    net::awaitable<void> on_starttls() {
        if (conn_.tls_active()) { (void)error(Reply{503, "5.5.1", "TLS already active"}); co_return; }
        if (!ctx_.tls_available) { send(replies::kTlsNotAvailable); co_return; }
        send(replies::kReadyToStartTls);
        // Keep these awaits as plain statements. Written as `if (!co_await flush()) co_return ...;` followed by
        // `if (!co_await conn_.start_tls())`, GCC 12.2 at -O2 emitted a ramp that laid out this coroutine's frame
        // 8 bytes away from what its actor expected: the first resume hit ud2 (SIGILL) and one STARTTLS from any
        // client killed the daemon. tests/integration/test_smtp.py (StartTlsTest) covers it.
        bool ok = co_await flush();
        if (ok) ok = co_await conn_.start_tls();
        if (!ok) {
            quit_ = true;
            co_return;
        }
        // RFC 3207 §4.2: discard all knowledge obtained from the client before TLS.
        reset_transaction();
        helo_.clear();
        esmtp_ = false;
        account_ = {};
    }

    net::awaitable<void> on_auth(const Auth& c) {
        if (ctx_.mode != Mode::Submission) { (void)error(Reply{503, "5.5.1", "Authentication not enabled"}); co_return; }
        if (helo_.empty() || !esmtp_) { (void)error(Reply{503, "5.5.1", "Send EHLO first"}); co_return; }
        if (authenticated()) { (void)error(replies::kAlreadyAuthenticated); co_return; }  // RFC 4954 §4
        if (tx_.active) { (void)error(Reply{503, "5.5.1", "AUTH not allowed during a mail transaction"}); co_return; }
        if (!auth_offered()) { (void)error(replies::kEncryptionRequired); co_return; }  // RFC 4954 §6: 538 5.7.11
        auto sasl = auth::SaslServer::create(c.mechanism);
        if (!sasl) { (void)error(replies::kUnrecognizedAuthMechanism); co_return; }
        std::optional<std::string_view> initial;
        if (c.initial_response) initial = c.initial_response->empty() ? std::string_view("=") : std::string_view(*c.initial_response);
        auto step = sasl->start(initial);
        std::string line;
        for (;;) {
            if (auto* ch = std::get_if<auth::SaslChallenge>(&step)) {
                send(334, "", ch->base64);
                { bool awaited = co_await flush(); if (!awaited) { quit_ = true; co_return; } }
                auto st = co_await conn_.read_line(line, parse_options().max_auth_line_length, false);
                if (st == net::ReadStatus::TooLong) { (void)error(replies::kAuthLineTooLong); co_return; }
                if (st != net::ReadStatus::Ok) { quit_ = true; co_return; }
                auto resp = parse_sasl_response(line, parse_options());
                if (std::holds_alternative<SaslCancel>(resp)) { (void)error(replies::kAuthCancelled); co_return; }
                if (auto* e = std::get_if<ParseError>(&resp)) { (void)error(Reply{e->code, e->enhanced, e->text}); co_return; }
                step = sasl->step(std::get<std::string>(resp));
                continue;
            }
            if (std::holds_alternative<auth::SaslCancelled>(step)) { (void)error(replies::kAuthCancelled); co_return; }
            if (std::holds_alternative<auth::SaslFailed>(step))
                { (void)error(Reply{501, "5.5.2", "Malformed authentication data"}); co_return; }
            break;
        }
        auto& creds = std::get<auth::SaslDone>(step).creds;
        auto outcome = co_await authenticate(conn_, ctx_.store, cfg_, creds);
        switch (outcome.kind) {
            case AuthOutcome::Kind::Ok:
                account_ = std::move(outcome.account);
                log::info(conn_.session_id()) << "authenticated as " << account_.address;
                send(replies::kAuthSucceeded);
                break;
            case AuthOutcome::Kind::Failed: (void)error(replies::kAuthFailed); break;
            case AuthOutcome::Kind::LockedOut:
                (void)error(Reply{454, "4.7.0", "Too many failed logins; try again later"});
                break;
            case AuthOutcome::Kind::Temporary: send(replies::kTempAuthFailure); break;
        }
    }

    net::Connection& conn_;
    const SessionContext& ctx_;
    const Config& cfg_;
    std::string out_;
    std::string helo_;
    bool esmtp_ = false;
    bool quit_ = false;
    unsigned errors_ = 0;
    std::uint64_t delivered_ = 0;
    store::Account account_;
    Transaction tx_;
};

}  // namespace

net::awaitable<void> run_session(net::Connection& conn, const SessionContext& ctx) {
    Session s(conn, ctx);
    co_await s.run();
}

}  // namespace roost::smtpd
