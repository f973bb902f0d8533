// IMAP session: the command loop, states, authentication and untagged updates.
// RFC 9051 (IMAP4rev2) with RFC 3501 (IMAP4rev1) behaviour until the client enables IMAP4rev2.
#include <algorithm>
#include <cstring>

#include "common/auth/sasl.hpp"
#include "common/core/log.hpp"
#include "common/daemon/authenticator.hpp"
#include "common/daemon/daemon.hpp"
#include "common/mail/serialize.hpp"
#include "imapd/protocol/strings.hpp"
#include "imapd/session/session_impl.hpp"

namespace roost::imapd {

std::uint32_t SelectedMailbox::seq_of(std::uint32_t uid) const {
    auto it = std::lower_bound(uids.begin(), uids.end(), uid);
    if (it == uids.end() || *it != uid) return 0;
    return static_cast<std::uint32_t>(it - uids.begin()) + 1;
}

std::uint32_t SelectedMailbox::recent_count() const {
    // claim_recent() may return messages that arrived after the last EXISTS: count only announced ones.
    return static_cast<std::uint32_t>(
        std::count_if(recent.begin(), recent.end(), [this](std::uint32_t uid) { return seq_of(uid) != 0; }));
}

namespace {
imap::ParserLimits limits_of(const Config& c) {
    imap::ParserLimits l;
    l.max_literal = c.limits.max_message_size;  // APPENDLIMIT (RFC 7889)
    l.max_command = c.limits.max_message_size + (1 << 20);
    return l;
}
// Before authentication a client can only log in, identify itself (ID), start TLS or ask for capabilities:
// no literal needs more than a few KiB. With the limits above, one anonymous connection could make the
// server hold max_message_size bytes of literals (an APPEND or LOGIN literal bomb, answered only once read).
imap::ParserLimits pre_auth_limits_of(const Config& c) {
    auto l = limits_of(c);
    l.max_literal = 8 << 10;  // APPEND included: it is refused before login anyway
    l.max_string_literal = 8 << 10;
    l.max_command = l.max_line + (64 << 10);
    return l;
}
}  // namespace

Session::Session(net::Connection& c, const SessionContext& ctx)
    : conn_(c), ctx_(ctx), cfg_(ctx.config), reader_(pre_auth_limits_of(ctx.config)) {}

Session::~Session() {
    *alive_ = false;
    subscription_.reset();
}

// ----- output -----
void Session::untagged(std::string_view text) {
    out_ += "* ";
    out_ += text;
    out_ += "\r\n";
}

void Session::tagged(const std::string& tag, std::string_view status, std::string_view text) {
    out_ += tag;
    out_ += ' ';
    out_ += status;
    out_ += ' ';
    out_ += text;
    out_ += "\r\n";
}

void Session::bad(const std::string& tag, std::string_view text) {
    tagged(tag, "BAD", text);
    ++errors_;
}

net::awaitable<bool> Session::flush() {
    if (out_.empty()) co_return true;
    std::string data;
    data.swap(out_);
    co_return co_await conn_.write(data);
}

net::awaitable<bool> Session::flush_if_large() {
    if (out_.size() >= 256 * 1024) co_return co_await flush();
    co_return true;
}

// ----- capabilities and states -----
bool Session::login_allowed() const {
    return conn_.tls_active() || Daemon::plaintext_auth_allowed(cfg_.imap.plaintext_auth, conn_.peer_is_loopback());
}

std::string Session::capabilities() const {
    std::string c = "IMAP4rev1 IMAP4rev2";
    if (state_ == State::NotAuthenticated) {
        if (ctx_.tls_available && !conn_.tls_active()) c += " STARTTLS";
        if (login_allowed()) c += " AUTH=PLAIN AUTH=LOGIN SASL-IR";
        else c += " LOGINDISABLED";  // RFC 9051 §6.2.3
    }
    c += " LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT CHILDREN SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED"
         " LIST-STATUS UIDPLUS MOVE CONDSTORE QRESYNC ESEARCH SEARCHRES SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT"
         " THREAD=REFERENCES QUOTA QUOTA=RES-STORAGE STATUS=SIZE UTF8=ACCEPT";
    if (state_ != State::NotAuthenticated && !conn_.compression_active()) c += " COMPRESS=DEFLATE";
    c += " APPENDLIMIT=" + std::to_string(cfg_.limits.max_message_size);
    return c;
}

bool Session::allowed_in_state(const Cmd& cmd) const {
    // RFC 9051 §6: any state / not authenticated / authenticated / selected.
    bool any = std::holds_alternative<imap::Capability>(cmd) || std::holds_alternative<imap::Noop>(cmd) ||
               std::holds_alternative<imap::Logout>(cmd) || std::holds_alternative<imap::Id>(cmd);
    if (any) return true;
    bool pre = std::holds_alternative<imap::StartTls>(cmd) || std::holds_alternative<imap::Login>(cmd) ||
               std::holds_alternative<imap::Authenticate>(cmd);
    if (state_ == State::NotAuthenticated) return pre;
    if (pre) return false;
    bool selected_only = std::holds_alternative<imap::Check>(cmd) || std::holds_alternative<imap::Close>(cmd) ||
                         std::holds_alternative<imap::Unselect>(cmd) || std::holds_alternative<imap::Expunge>(cmd) ||
                         std::holds_alternative<imap::UidExpunge>(cmd) || std::holds_alternative<imap::Search>(cmd) ||
                         std::holds_alternative<imap::Fetch>(cmd) || std::holds_alternative<imap::Store>(cmd) ||
                         std::holds_alternative<imap::Copy>(cmd) || std::holds_alternative<imap::Move>(cmd) ||
                         std::holds_alternative<imap::Sort>(cmd) || std::holds_alternative<imap::Thread>(cmd);
    if (selected_only) return state_ == State::Selected;
    return true;
}

void Session::select_none() {
    sel_.reset();
    if (state_ == State::Selected) state_ = State::Authenticated;
}

// ----- the loop -----
net::awaitable<void> Session::run() {
    conn_.set_timeout(cfg_.imap_options.idle_timeout);  // RFC 9051 §5.4 autologout
    untagged("OK [CAPABILITY " + capabilities() + "] " + cfg_.hostname + " Roost IMAP ready");
    { bool awaited = co_await flush(); if (!awaited) co_return; }
    while (state_ != State::Logout) {
        bool from_line = idle_line_pos_ < idle_line_.size();
        std::string_view input = from_line ? std::string_view(idle_line_).substr(idle_line_pos_) : conn_.buffered();
        auto [used, event] = reader_.feed(input);
        if (from_line) idle_line_pos_ += used;
        else conn_.consume(used);
        if (std::holds_alternative<imap::NeedMore>(event)) {
            if (from_line) continue;  // the rest of the command (literal bytes) comes from the connection
            { bool awaited = co_await flush(); if (!awaited) co_return; }
            net::ReadStatus st;
            if (reader_.buffered() == 0 && conn_.buffered().empty()) {
                // Between commands: an idle wait, which a server shutdown interrupts (Connection::fill() alone
                // would keep the daemon waiting for this client until the shutdown grace period ends).
                idle_line_.clear();
                idle_line_pos_ = 0;
                st = co_await conn_.read_line(idle_line_, reader_.limits().max_line, true);
                if (st == net::ReadStatus::Ok) idle_line_ += "\r\n";
                if (st == net::ReadStatus::TooLong) {
                    // Its tag and any LITERAL+ announcement at its end are gone with it: the bytes that follow
                    // cannot be told apart from commands, so end the session (as Dovecot does).
                    idle_line_.clear();
                    untagged("BYE Command line too long");
                    break;
                }
            } else {
                // Inside a command (the rest of a line, literals): the command as a whole is one transfer.
                conn_.begin_transfer();
                st = co_await conn_.fill();
            }
            if (st == net::ReadStatus::Timeout) {
                untagged("BYE Autologout; idle for too long");
                break;
            }
            if (st == net::ReadStatus::Shutdown) {
                untagged("BYE [UNAVAILABLE] Server shutting down");
                break;
            }
            if (st != net::ReadStatus::Ok) co_return;
            continue;
        }
        if (auto* c = std::get_if<imap::NeedContinuation>(&event)) {
            // RFC 9051 §7.5: the client waits for this before sending a synchronising literal.
            raw("+ Ready for literal data\r\n");
            { bool awaited = co_await flush(); if (!awaited) co_return; }
            (void)c;
            continue;
        }
        conn_.end_transfer();  // a whole command (or its failure) has been read
        if (auto* f = std::get_if<imap::ParseFailure>(&event)) {
            if (f->kind == imap::ParseFailure::Bad) bad(f->tag, f->message);
            else tagged(f->tag, "NO", f->message);
            if (f->fatal) {
                untagged("BYE Cannot continue after this error");  // RFC 7888 §4: literal bytes would follow
                break;
            }
            if (errors_ >= cfg_.limits.max_errors) {
                untagged("BYE Too many errors");
                break;
            }
            continue;
        }
        auto& cmd = std::get<imap::ParsedCommand>(event).command;
        const auto& tag = imap::command_tag(cmd);
        if (!allowed_in_state(cmd)) {
            bad(tag, state_ == State::NotAuthenticated ? "Not authenticated" : "Command not valid in this state");
            if (errors_ >= cfg_.limits.max_errors) {
                untagged("BYE Too many errors");
                break;
            }
            continue;
        }
        co_await dispatch(cmd);
        if (conn_.shutting_down() && state_ != State::Logout) {
            untagged("BYE [UNAVAILABLE] Server shutting down");
            break;
        }
    }
    co_await flush();
}

net::awaitable<void> Session::dispatch(Cmd& cmd) {
    using namespace imap;
    if (auto* c = std::get_if<Capability>(&cmd)) {
        untagged("CAPABILITY " + capabilities());
        ok(c->tag, "CAPABILITY completed");
        co_return;
    }
    if (auto* c = std::get_if<Noop>(&cmd)) {
        if (sel_) co_await report_updates(true);
        ok(c->tag, "NOOP completed");
        co_return;
    }
    if (auto* c = std::get_if<Logout>(&cmd)) {
        untagged("BYE Logging out");
        ok(c->tag, "LOGOUT completed");
        state_ = State::Logout;
        co_return;
    }
    if (auto* c = std::get_if<Id>(&cmd)) { on_id(*c); co_return; }
    if (auto* c = std::get_if<StartTls>(&cmd)) { co_await on_starttls(*c); co_return; }
    if (auto* c = std::get_if<Login>(&cmd)) { co_await on_login(*c); co_return; }
    if (auto* c = std::get_if<Authenticate>(&cmd)) { co_await on_authenticate(*c); co_return; }
    if (auto* c = std::get_if<Enable>(&cmd)) { on_enable(*c); co_return; }
    if (auto* c = std::get_if<Namespace>(&cmd)) { on_namespace(*c); co_return; }
    if (auto* c = std::get_if<Select>(&cmd)) { co_await on_select(*c, false, "SELECT"); co_return; }
    if (auto* c = std::get_if<Examine>(&cmd)) { co_await on_select(*c, true, "EXAMINE"); co_return; }
    if (auto* c = std::get_if<Create>(&cmd)) { on_create(*c); co_return; }
    if (auto* c = std::get_if<Delete>(&cmd)) { on_delete(*c); co_return; }
    if (auto* c = std::get_if<Rename>(&cmd)) { on_rename(*c); co_return; }
    if (auto* c = std::get_if<Subscribe>(&cmd)) { on_subscribe(c->tag, c->mailbox, true); co_return; }
    if (auto* c = std::get_if<Unsubscribe>(&cmd)) { on_subscribe(c->tag, c->mailbox, false); co_return; }
    if (auto* c = std::get_if<List>(&cmd)) { on_list(*c); co_return; }
    if (auto* c = std::get_if<Lsub>(&cmd)) { on_lsub(*c); co_return; }
    if (auto* c = std::get_if<Status>(&cmd)) { on_status(*c); co_return; }
    if (auto* c = std::get_if<Append>(&cmd)) {
        co_await on_append(*c);
        co_return;
    }
    if (auto* c = std::get_if<Idle>(&cmd)) { co_await on_idle(*c); co_return; }
    if (auto* c = std::get_if<GetQuota>(&cmd)) { on_getquota(*c); co_return; }
    if (auto* c = std::get_if<GetQuotaRoot>(&cmd)) { on_getquotaroot(*c); co_return; }
    if (auto* c = std::get_if<SetQuota>(&cmd)) { no(c->tag, "[NOPERM] Quotas are set by the administrator"); co_return; }
    if (auto* c = std::get_if<Compress>(&cmd)) {
        // RFC 4978 §3
        if (conn_.compression_active()) { no(c->tag, "[COMPRESSIONACTIVE] DEFLATE is already active"); co_return; }
        std::string mech = c->mechanism;
        for (auto& ch : mech) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (mech != "DEFLATE") { bad(c->tag, "Unsupported compression mechanism"); co_return; }
        ok(c->tag, "DEFLATE active");
        { bool awaited = co_await flush(); if (!awaited) { state_ = State::Logout; co_return; } }
        reader_.reset();
        conn_.start_compression();
        co_return;
    }
    if (auto* c = std::get_if<Check>(&cmd)) {
        co_await report_updates(true);
        { ok(c->tag, "CHECK completed"); co_return; }
    }
    if (auto* c = std::get_if<Close>(&cmd)) { co_await on_close(c->tag, true); co_return; }
    if (auto* c = std::get_if<Unselect>(&cmd)) { co_await on_close(c->tag, false); co_return; }
    if (auto* c = std::get_if<Expunge>(&cmd)) { co_await on_expunge(c->tag, std::nullopt); co_return; }
    if (auto* c = std::get_if<UidExpunge>(&cmd)) { co_await on_expunge(c->tag, c->set); co_return; }
    if (auto* c = std::get_if<Search>(&cmd)) { co_await on_search(*c); co_return; }
    if (auto* c = std::get_if<Fetch>(&cmd)) { co_await on_fetch(*c); co_return; }
    if (auto* c = std::get_if<Store>(&cmd)) { co_await on_store(*c); co_return; }
    if (auto* c = std::get_if<Copy>(&cmd)) { co_await on_copy(c->tag, c->uid, c->set, c->mailbox, false); co_return; }
    if (auto* c = std::get_if<Move>(&cmd)) { co_await on_copy(c->tag, c->uid, c->set, c->mailbox, true); co_return; }
    if (auto* c = std::get_if<Sort>(&cmd)) { co_await on_sort(*c); co_return; }
    if (auto* c = std::get_if<Thread>(&cmd)) { co_await on_thread(*c); co_return; }
}

// ----- not authenticated -----
net::awaitable<void> Session::on_starttls(const imap::StartTls& c) {
    if (conn_.tls_active()) { bad(c.tag, "TLS is already active"); co_return; }
    if (!ctx_.tls_available) { no(c.tag, "TLS not available"); co_return; }
    ok(c.tag, "Begin TLS negotiation now");
    { bool awaited = co_await flush(); if (!awaited) { state_ = State::Logout; co_return; } }
    // RFC 9051 §6.2.1: anything pipelined after STARTTLS is discarded (Connection and reader alike).
    reader_.reset();
    idle_line_.clear();
    idle_line_pos_ = 0;
    { bool awaited = co_await conn_.start_tls(); if (!awaited) state_ = State::Logout; }
}

net::awaitable<void> Session::on_login(const imap::Login& c) {
    if (!login_allowed()) { no(c.tag, "[PRIVACYREQUIRED] LOGIN is disabled before STARTTLS"); co_return; }
    auth::Credentials creds{"", c.user, c.password};
    co_await finish_login(c.tag, creds);
}

net::awaitable<void> Session::on_authenticate(const imap::Authenticate& c) {
    if (!login_allowed()) { no(c.tag, "[PRIVACYREQUIRED] Authentication is disabled before STARTTLS"); co_return; }
    auto sasl = auth::SaslServer::create(c.mechanism);
    if (!sasl) { no(c.tag, "Unsupported authentication mechanism"); co_return; }
    std::optional<std::string_view> initial;
    if (c.initial_response) initial = c.initial_response->empty() ? std::string_view("=") : std::string_view(*c.initial_response);
    auto step = sasl->start(initial);
    std::string line;
    for (;;) {
        if (auto* ch = std::get_if<auth::SaslChallenge>(&step)) {
            raw("+ " + ch->base64 + "\r\n");
            { bool awaited = co_await flush(); if (!awaited) { state_ = State::Logout; co_return; } }
            auto st = co_await conn_.read_line(line, 16384, false);
            if (st == net::ReadStatus::TooLong) { bad(c.tag, "Authentication line too long"); co_return; }
            if (st != net::ReadStatus::Ok) { state_ = State::Logout; co_return; }
            step = sasl->step(line);
            continue;
        }
        if (std::holds_alternative<auth::SaslCancelled>(step)) { bad(c.tag, "Authentication cancelled"); co_return; }
        if (std::holds_alternative<auth::SaslFailed>(step)) { bad(c.tag, "Malformed authentication data"); co_return; }
        break;
    }
    co_await finish_login(c.tag, std::get<auth::SaslDone>(step).creds);
}

net::awaitable<void> Session::finish_login(const std::string& tag, const auth::Credentials& creds) {
    auto outcome = co_await authenticate(conn_, ctx_.store, cfg_, creds);
    switch (outcome.kind) {
        case AuthOutcome::Kind::Ok: break;
        case AuthOutcome::Kind::Failed: { no(tag, "[AUTHENTICATIONFAILED] Invalid credentials"); co_return; }
        case AuthOutcome::Kind::LockedOut:
            { no(tag, "[UNAVAILABLE] Too many failed logins; try again later"); co_return; }
        case AuthOutcome::Kind::Temporary: { no(tag, "[UNAVAILABLE] Temporary failure; try again later"); co_return; }
    }
    account_ = std::move(outcome.account);
    state_ = State::Authenticated;
    reader_.set_limits(limits_of(cfg_));  // between commands: LOGIN/AUTHENTICATE has been read in full
    log::info(conn_.session_id()) << "imap login " << account_.address;
    // Changes made by any process reach us here (notifier thread); hop onto our executor and note them.
    std::weak_ptr<bool> alive = alive_;
    auto* self = this;
    auto& conn = conn_;
    subscription_ = ctx_.store.subscribe(account_.id, [alive, self, &conn](const store::MailboxChange& ch) {
        conn.post([alive, self, ch] {
            auto a = alive.lock();
            if (!a || !*a) return;
            if (!self->sel_ || self->sel_->info.id != ch.mailbox_id) return;
            self->change_pending_ = true;
            if (self->idling_ && !self->pushing_) {
                self->pushing_ = true;
                self->conn_.spawn([alive, self]() -> net::awaitable<void> {
                    auto a2 = alive.lock();
                    if (a2 && *a2 && self->idling_) {
                        while (self->change_pending_ && self->idling_) {
                            co_await self->report_updates(true);
                            { bool awaited = co_await self->flush(); if (!awaited) break; }
                            // The mailbox went away (BYE sent): end the IDLE's read rather than wait for DONE.
                            if (self->state_ == State::Logout) {
                                self->conn_.close();
                                break;
                            }
                        }
                    }
                    if (a2 && *a2) self->pushing_ = false;
                });
            }
        });
    });
    ok(tag, "[CAPABILITY " + capabilities() + "] Logged in");
}

// ----- any state / authenticated -----
void Session::on_enable(const imap::Enable& c) {
    // RFC 5161 / RFC 9051 §6.3.1
    std::string enabled;
    for (auto cap : c.capabilities) {
        for (auto& ch : cap) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        bool now = false;
        if (cap == "CONDSTORE") now = !std::exchange(condstore_, true);
        else if (cap == "QRESYNC") {
            now = !std::exchange(qresync_, true);
            condstore_ = true;
        } else if (cap == "IMAP4REV2") now = !std::exchange(rev2_, true);
        else if (cap == "UTF8=ACCEPT") now = !std::exchange(utf8_enabled_, true);
        if (now) enabled += " " + cap;
    }
    reader_.set_utf8(utf8());
    untagged("ENABLED" + enabled);
    ok(c.tag, "ENABLE completed");
}

void Session::on_id(const imap::Id& c) {
    // RFC 2971
    untagged("ID (\"name\" \"Roost\" \"version\" \"0.1.0\")");
    ok(c.tag, "ID completed");
}

void Session::on_namespace(const imap::Namespace& c) {
    // RFC 2342 / RFC 9051 §6.3.10: one personal namespace, "/" delimiter.
    untagged("NAMESPACE ((\"\" \"/\")) NIL NIL");
    ok(c.tag, "NAMESPACE completed");
}

// ----- untagged updates -----
void Session::emit_expunges(const std::vector<std::uint32_t>& uids) {
    if (uids.empty() || !sel_) return;
    if (qresync_) {
        // RFC 7162 §3.2.10: VANISHED replaces EXPUNGE once QRESYNC is enabled.
        untagged("VANISHED " + imap::format_sequence_set(uids));
        for (auto uid : uids) {
            auto seq = sel_->seq_of(uid);
            if (seq) sel_->uids.erase(sel_->uids.begin() + (seq - 1));
            sel_->recent.erase(uid);
            sel_->reported.erase(uid);
        }
        return;
    }
    for (auto uid : uids) {
        auto seq = sel_->seq_of(uid);
        if (!seq) continue;
        untagged(std::to_string(seq) + " EXPUNGE");  // RFC 9051 §7.5.1
        sel_->uids.erase(sel_->uids.begin() + (seq - 1));
        sel_->recent.erase(uid);
        sel_->reported.erase(uid);
    }
}

std::string Session::flags_of(const store::MessageInfo& m) const {
    // RFC 9051 has no \Recent (§2.3.2 of RFC 3501 only).
    return imap::flag_list(m.flags, m.keywords, !rev2_ && sel_ && sel_->recent.count(m.uid));
}

std::string Session::fetch_flags_item(const store::MessageInfo& m, bool with_uid) const {
    std::string s = "FLAGS " + flags_of(m);
    if (with_uid) s += " UID " + std::to_string(m.uid);
    if (condstore_) s += " MODSEQ (" + std::to_string(m.modseq) + ")";
    return s;
}

net::awaitable<void> Session::report_updates(bool allow_expunge) {
    if (!sel_) co_return;
    change_pending_ = false;
    auto delta = ctx_.store.changes_since(sel_->info.id, sel_->known_modseq);
    if (!delta) {
        if (delta.error().code == store::Errc::NotFound) {
            // The mailbox was deleted or renamed by another session.
            untagged("BYE [UNAVAILABLE] The selected mailbox was removed");
            state_ = State::Logout;
        }
        co_return;
    }
    auto& d = *delta;
    for (auto uid : d.expunged)
        if (sel_->seq_of(uid)) sel_->pending_expunge.insert(uid);
    if (allow_expunge && !sel_->pending_expunge.empty()) {
        std::vector<std::uint32_t> ex(sel_->pending_expunge.begin(), sel_->pending_expunge.end());
        sel_->pending_expunge.clear();
        emit_expunges(ex);
    }
    std::vector<std::uint32_t> fresh;
    for (auto& m : d.changed) {
        if (m.uid > sel_->max_uid()) {
            fresh.push_back(m.uid);
            // RFC 3501 §6.3.2: a read-only session shows \Recent without taking it from anyone.
            if (sel_->read_only && !rev2_ && m.recent) sel_->recent.insert(m.uid);
            continue;
        }
        auto seq = sel_->seq_of(m.uid);
        if (!seq || sel_->pending_expunge.count(m.uid)) continue;
        auto rep = sel_->reported.find(m.uid);
        if (rep != sel_->reported.end() && rep->second >= m.modseq) continue;  // we told them already
        untagged(std::to_string(seq) + " FETCH (" + fetch_flags_item(m, true) + ")");
    }
    if (!fresh.empty()) {
        for (auto uid : fresh) sel_->uids.push_back(uid);
        if (!sel_->read_only && !rev2_) {
            // RFC 3501 §2.3.2: this session is the first to be told of them.
            if (auto r = ctx_.store.claim_recent(sel_->info.id))
                for (auto uid : *r) sel_->recent.insert(uid);
        }
        untagged(std::to_string(sel_->exists()) + " EXISTS");
        if (!rev2_) untagged(std::to_string(sel_->recent_count()) + " RECENT");
    }
    sel_->reported.clear();
    sel_->known_modseq = d.mailbox.highest_modseq;
    sel_->info = d.mailbox;
}

std::vector<std::uint32_t> Session::resolve(const imap::SequenceSet& set, bool uid) const {
    std::vector<std::uint32_t> out;
    if (!sel_) return out;
    if (set.saved) {
        if (sel_->saved_search)
            for (auto u : *sel_->saved_search)
                if (sel_->seq_of(u)) out.push_back(u);
        return out;
    }
    if (sel_->uids.empty()) return out;
    if (uid) {
        auto max = sel_->max_uid();
        for (auto& r : set.ranges) {
            auto a = r.first == imap::kStar ? max : r.first;
            auto b = r.last == imap::kStar ? max : r.last;
            if (a > b) std::swap(a, b);
            auto lo = std::lower_bound(sel_->uids.begin(), sel_->uids.end(), a);
            auto hi = std::upper_bound(sel_->uids.begin(), sel_->uids.end(), b);
            out.insert(out.end(), lo, hi);
        }
    } else {
        auto max = sel_->exists();
        for (auto& r : set.ranges) {
            auto a = r.first == imap::kStar ? max : r.first;
            auto b = r.last == imap::kStar ? max : r.last;
            if (a > b) std::swap(a, b);
            if (a == 0) a = 1;
            for (auto s = a; s <= b && s <= max; ++s) out.push_back(sel_->uids[s - 1]);
        }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

bool Session::valid_sequence_set(const imap::SequenceSet& set, bool uid) const {
    if (uid || set.saved || !sel_) return true;
    for (auto& r : set.ranges)
        if ((r.first != imap::kStar && r.first > sel_->exists()) || (r.last != imap::kStar && r.last > sel_->exists()))
            return false;
    return true;
}

std::optional<mail::ParsedMessage> Session::parsed_of(std::int64_t blob_id) {
    auto p = ctx_.store.parsed_structure(blob_id);
    if (p && !p->empty())
        if (auto m = mail::from_blob(*p)) return m;
    // Stored without a parse (parser failure at delivery): parse now, once.
    auto raw = ctx_.store.blob(blob_id);
    if (!raw) return std::nullopt;
    return mail::parse_message(*raw);
}

bool parse_flags(const std::vector<std::string>& flags, std::uint32_t& bits, std::vector<std::string>& keywords) {
    bits = 0;
    keywords.clear();
    for (auto& f : flags) {
        if (f.empty()) return false;
        if (f[0] == '\\') {
            if (strcasecmp(f.c_str(), "\\Seen") == 0) bits |= store::kFlagSeen;
            else if (strcasecmp(f.c_str(), "\\Answered") == 0) bits |= store::kFlagAnswered;
            else if (strcasecmp(f.c_str(), "\\Flagged") == 0) bits |= store::kFlagFlagged;
            else if (strcasecmp(f.c_str(), "\\Deleted") == 0) bits |= store::kFlagDeleted;
            else if (strcasecmp(f.c_str(), "\\Draft") == 0) bits |= store::kFlagDraft;
            else if (strcasecmp(f.c_str(), "\\Recent") == 0) continue;  // RFC 3501: cannot be stored; ignored
            else return false;
        } else {
            bool dup = false;
            for (auto& k : keywords) dup = dup || strcasecmp(k.c_str(), f.c_str()) == 0;
            if (!dup) keywords.push_back(f);
        }
    }
    return true;
}

bool list_match(std::string_view p, std::string_view n) {
    // Iterative wildcard match: '*' matches anything, '%' anything but the delimiter '/'.
    std::size_t pi = 0, ni = 0, star_p = std::string_view::npos, star_n = 0;
    bool star_is_percent = false;
    while (ni < n.size()) {
        if (pi < p.size() && (p[pi] == '*' || p[pi] == '%')) {
            star_is_percent = p[pi] == '%';
            star_p = pi++;
            star_n = ni;
        } else if (pi < p.size() && p[pi] == n[ni]) {
            ++pi;
            ++ni;
        } else if (star_p != std::string_view::npos && !(star_is_percent && n[star_n] == '/')) {
            pi = star_p + 1;
            ni = ++star_n;
        } else return false;
    }
    while (pi < p.size() && (p[pi] == '*' || p[pi] == '%')) ++pi;
    return pi == p.size();
}

net::awaitable<void> run_session(net::Connection& conn, const SessionContext& ctx) {
    Session s(conn, ctx);
    co_await s.run();
}

}  // namespace roost::imapd
