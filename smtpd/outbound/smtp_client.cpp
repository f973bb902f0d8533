#include "smtpd/outbound/smtp_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <memory>
#include <optional>

#include "common/util/base64.hpp"
#include "smtpd/outbound/dsn.hpp"

namespace roost::outbound {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio::awaitable;

namespace {

constexpr auto kUse = asio::as_tuple(asio::use_awaitable);

// The connection: a plain socket, later perhaps wrapped in TLS, with a watchdog that cancels whatever
// operation outlives its deadline.
class Conn {
public:
    Conn(asio::any_io_executor ex, asio::ssl::context& ctx) : sock_(ex), timer_(ex), ctx_(ctx) {}
    ~Conn() { *alive_ = false; }

    awaitable<bool> connect(const std::string& address, std::uint16_t port, std::chrono::seconds timeout,
                            std::string& error) {
        boost::system::error_code ec;
        auto ip = asio::ip::make_address(address, ec);
        if (ec) {
            error = "invalid address " + address;
            co_return false;
        }
        arm(timeout);
        auto [cec] = co_await sock_.async_connect(tcp::endpoint(ip, port), kUse);
        disarm();
        if (cec) {
            error = timed_out_ ? "connection timed out" : "cannot connect: " + cec.message();
            co_return false;
        }
        co_return true;
    }

    // STARTTLS (RFC 3207 §4.2) or implicit TLS. Any plaintext still buffered was sent before the handshake by
    // someone who is not the TLS peer: refuse it (the CVE-2011-0411 class, seen from the client side).
    awaitable<bool> handshake(const std::string& sni, std::chrono::seconds timeout, std::string& error) {
        if (!buf_.empty()) {
            error = "server sent data before the TLS handshake";
            co_return false;
        }
        tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(sock_, ctx_);
        // RFC 6066 §3: SNI carries a host name, never an address literal.
        boost::system::error_code not_ip;
        asio::ip::make_address(sni, not_ip);
        if (!sni.empty() && not_ip) SSL_set_tlsext_host_name(tls_->native_handle(), sni.c_str());
        arm(timeout);
        auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, kUse);
        disarm();
        if (ec) {
            error = timed_out_ ? "TLS handshake timed out" : "TLS handshake failed: " + ec.message();
            co_return false;
        }
        co_return true;
    }

    // Takes the bytes by value: they live in this coroutine's frame until the write is done.
    awaitable<bool> write(std::string data, std::chrono::seconds timeout, std::string& error) {
        arm(timeout);
        boost::system::error_code ec;
        if (tls_) {
            auto [e, n] = co_await asio::async_write(*tls_, asio::buffer(data), kUse);
            ec = e;
        } else {
            auto [e, n] = co_await asio::async_write(sock_, asio::buffer(data), kUse);
            ec = e;
        }
        disarm();
        if (ec) {
            error = timed_out_ ? "timeout while sending" : "connection lost while sending: " + ec.message();
            co_return false;
        }
        co_return true;
    }

    awaitable<std::optional<SmtpReply>> read_reply(std::chrono::seconds timeout, std::string& error) {
        for (;;) {
            SmtpReply r;
            std::size_t used = 0;
            auto st = parse_reply(buf_, r, used);
            if (st == ReplyParse::Complete) {
                buf_.erase(0, used);
                co_return r;
            }
            if (st == ReplyParse::Error) {
                error = "malformed reply from server";
                co_return std::nullopt;
            }
            char chunk[8192];
            arm(timeout);
            boost::system::error_code ec;
            std::size_t n = 0;
            if (tls_) {
                auto [e, k] = co_await tls_->async_read_some(asio::buffer(chunk), kUse);
                ec = e;
                n = k;
            } else {
                auto [e, k] = co_await sock_.async_read_some(asio::buffer(chunk), kUse);
                ec = e;
                n = k;
            }
            disarm();
            if (ec) {
                error = timed_out_ ? "timeout waiting for the server" : "connection lost: " + ec.message();
                co_return std::nullopt;
            }
            buf_.append(chunk, n);
        }
    }

    std::string tls_description() const {
        if (!tls_) return {};
        auto* ssl = const_cast<SSL*>(tls_->native_handle());
        return std::string(SSL_get_version(ssl)) + " " + SSL_CIPHER_get_name(SSL_get_current_cipher(ssl));
    }
    bool tls_active() const { return tls_ != nullptr; }

    void close() {
        boost::system::error_code ec;
        sock_.shutdown(tcp::socket::shutdown_both, ec);
        sock_.close(ec);
    }

private:
    void arm(std::chrono::seconds t) {
        timed_out_ = false;
        auto gen = ++gen_;
        timer_.expires_after(t);
        timer_.async_wait([this, gen, alive = alive_](boost::system::error_code ec) {
            if (ec || !*alive || gen != gen_) return;
            timed_out_ = true;
            boost::system::error_code ignored;
            sock_.cancel(ignored);
        });
    }
    void disarm() {
        ++gen_;
        timer_.cancel();
    }

    tcp::socket sock_;
    asio::steady_timer timer_;
    asio::ssl::context& ctx_;
    std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
    std::string buf_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::uint64_t gen_ = 0;
    bool timed_out_ = false;
};

bool non_ascii(std::string_view s) { return has_8bit(s); }

std::string notify_param(unsigned n) {
    if (n & kNotifyNever) return "NEVER";
    std::string s;
    if (n & kNotifySuccess) s += "SUCCESS";
    if (n & kNotifyFailure) s += std::string(s.empty() ? "" : ",") + "FAILURE";
    if (n & kNotifyDelay) s += std::string(s.empty() ? "" : ",") + "DELAY";
    return s;
}

RecipientReply from_reply(const SmtpReply& r) {
    RecipientReply out;
    out.code = r.code;
    out.enhanced = r.enhanced;
    out.reply = r.summary();
    out.outcome = r.positive() ? RecipientReply::Outcome::Delivered
                  : r.permanent() ? RecipientReply::Outcome::Failed
                                  : RecipientReply::Outcome::Deferred;
    return out;
}

RecipientReply local_failure(RecipientReply::Outcome o, int code, std::string enhanced, std::string text) {
    RecipientReply r;
    r.outcome = o;
    r.code = code;
    r.enhanced = enhanced;
    r.reply = std::to_string(code) + " " + enhanced + " " + text;
    return r;
}

TransactionResult session_failure(std::string error, bool permanent = false) {
    TransactionResult t;
    t.session_ok = false;
    t.permanent = permanent;
    t.error = std::move(error);
    return t;
}

// The whole transaction; `conn` is connected.
awaitable<TransactionResult> run(Conn& conn, const ClientOptions& opt, const Target& target, const Envelope& env,
                                 std::string_view message) {
    std::string err;
    const std::string who = target.host + "[" + target.address + "]:" + std::to_string(target.port);
    if (target.tls == TlsPolicy::Implicit) {
        bool ok = co_await conn.handshake(target.host, opt.connect_timeout, err);
        if (!ok) co_return session_failure(who + ": " + err);
    }
    auto greeting = co_await conn.read_reply(opt.greeting_timeout, err);
    if (!greeting) co_return session_failure(who + ": " + err);
    // RFC 5321 §3.1: a 554 greeting means no mail from us here; try the next host.
    if (greeting->code != 220) co_return session_failure(who + " greeting: " + greeting->summary());

    Capabilities caps;
    for (int phase = 0; phase < 2; ++phase) {
        bool wrote = co_await conn.write("EHLO " + opt.helo_name + "\r\n", opt.command_timeout, err);
        if (!wrote) co_return session_failure(who + ": " + err);
        auto ehlo = co_await conn.read_reply(opt.command_timeout, err);
        if (!ehlo) co_return session_failure(who + ": " + err);
        if (ehlo->code == 250) caps = parse_ehlo(*ehlo);
        else {
            // RFC 5321 §3.2: a server that refuses EHLO may still speak HELO.
            bool wrote_helo = co_await conn.write("HELO " + opt.helo_name + "\r\n", opt.command_timeout, err);
            if (!wrote_helo) co_return session_failure(who + ": " + err);
            auto helo = co_await conn.read_reply(opt.command_timeout, err);
            if (!helo) co_return session_failure(who + ": " + err);
            if (helo->code != 250) co_return session_failure(who + " HELO: " + helo->summary());
            caps = Capabilities{};
        }
        if (phase == 1 || conn.tls_active()) break;
        bool want_tls = target.tls == TlsPolicy::RequireStartTls || (target.tls == TlsPolicy::Opportunistic && caps.starttls);
        if (!want_tls) break;
        if (!caps.starttls) co_return session_failure(who + ": STARTTLS required but not offered");
        bool wrote_tls = co_await conn.write("STARTTLS\r\n", opt.command_timeout, err);
        if (!wrote_tls) co_return session_failure(who + ": " + err);
        auto r = co_await conn.read_reply(opt.command_timeout, err);
        if (!r) co_return session_failure(who + ": " + err);
        if (r->code != 220) co_return session_failure(who + " STARTTLS: " + r->summary());
        bool shook = co_await conn.handshake(target.host, opt.command_timeout, err);
        if (!shook) co_return session_failure(who + ": " + err);
        // RFC 3207 §4.2: forget everything learnt before TLS; EHLO again (phase 1).
        caps = Capabilities{};
    }

    if (!target.username.empty()) {
        if (!conn.tls_active() && target.tls != TlsPolicy::None)
            co_return session_failure(who + ": refusing to send credentials without TLS");
        std::optional<SmtpReply> r;
        if (caps.has_auth("PLAIN")) {
            // RFC 4616: authzid NUL authcid NUL passwd, as an initial response (RFC 4954 §4).
            std::string token = std::string(1, '\0') + target.username + std::string(1, '\0') + target.password;
            bool wrote = co_await conn.write("AUTH PLAIN " + base64_encode(token) + "\r\n", opt.command_timeout, err);
            if (!wrote) co_return session_failure(who + ": " + err);
            r = co_await conn.read_reply(opt.command_timeout, err);
        } else if (caps.has_auth("LOGIN")) {
            bool wrote = co_await conn.write("AUTH LOGIN\r\n", opt.command_timeout, err);
            if (!wrote) co_return session_failure(who + ": " + err);
            r = co_await conn.read_reply(opt.command_timeout, err);
            for (const std::string* part : {&target.username, &target.password}) {
                if (!r || r->code != 334) break;
                bool w = co_await conn.write(base64_encode(*part) + "\r\n", opt.command_timeout, err);
                if (!w) co_return session_failure(who + ": " + err);
                r = co_await conn.read_reply(opt.command_timeout, err);
            }
        } else {
            co_return session_failure(who + ": no supported AUTH mechanism offered (PLAIN, LOGIN)");
        }
        if (!r) co_return session_failure(who + ": " + err);
        // The reply text is the server's; never log what we sent.
        if (r->code != 235) co_return session_failure(who + " AUTH: " + r->summary());
    }

    TransactionResult result;
    result.session_ok = true;
    result.tls = conn.tls_description();
    const auto n = env.recipients.size();
    result.recipients.resize(n);

    // What the message needs from the server, decided before MAIL (RFC 6531 §3.2, RFC 1870 §6).
    bool utf8 = non_ascii(env.from);
    for (auto& r : env.recipients) utf8 |= non_ascii(r.address);
    if (utf8 && !caps.smtputf8) {
        for (auto& r : result.recipients)
            r = local_failure(RecipientReply::Outcome::Failed, 553, "5.6.7",
                              "Non-ASCII address, but " + target.host + " does not support SMTPUTF8");
        co_await conn.write("QUIT\r\n", std::chrono::seconds(5), err);
        co_return result;
    }
    if (caps.size && caps.max_size && message.size() > caps.max_size) {
        for (auto& r : result.recipients)
            r = local_failure(RecipientReply::Outcome::Failed, 552, "5.3.4",
                              "Message is larger than " + target.host + " accepts (" + std::to_string(caps.max_size) + ")");
        co_await conn.write("QUIT\r\n", std::chrono::seconds(5), err);
        co_return result;
    }

    std::string mail = "MAIL FROM:<" + env.from + ">";
    if (caps.size) mail += " SIZE=" + std::to_string(message.size());
    // Deviation: 8-bit content goes to servers without 8BITMIME unchanged (no downgrade to quoted-printable),
    // as most MTAs do today.
    if (caps.eightbitmime && has_8bit(message)) mail += " BODY=8BITMIME";
    if (utf8) mail += " SMTPUTF8";
    if (caps.dsn) {
        // RFC 3461 §4: pass the DSN parameters along to a server that supports them.
        result.remote_dsn = true;
        if (!env.ret.empty()) mail += " RET=" + env.ret;
        if (!env.envid.empty()) mail += " ENVID=" + encode_xtext(env.envid);
    }
    mail += "\r\n";
    std::vector<std::string> rcpts;
    for (auto& r : env.recipients) {
        std::string c = "RCPT TO:<" + r.address + ">";
        if (caps.dsn) {
            if (r.notify) c += " NOTIFY=" + notify_param(r.notify);
            if (auto semi = r.orcpt.find(';'); semi != std::string::npos)
                c += " ORCPT=" + r.orcpt.substr(0, semi) + ";" + encode_xtext(r.orcpt.substr(semi + 1));
        }
        rcpts.push_back(c + "\r\n");
    }

    std::optional<SmtpReply> mail_reply, data_reply;
    std::vector<std::optional<SmtpReply>> rcpt_replies(n);
    if (caps.pipelining) {
        // RFC 2920 §3.1: MAIL, every RCPT and DATA in one write; the replies come back in order.
        std::string batch = mail;
        for (auto& c : rcpts) batch += c;
        batch += "DATA\r\n";
        bool wrote = co_await conn.write(std::move(batch), opt.command_timeout, err);
        if (!wrote) co_return session_failure(who + ": " + err);
        mail_reply = co_await conn.read_reply(opt.command_timeout, err);
        if (!mail_reply) co_return session_failure(who + ": " + err);
        for (std::size_t i = 0; i < n; ++i) {
            rcpt_replies[i] = co_await conn.read_reply(opt.command_timeout, err);
            if (!rcpt_replies[i]) co_return session_failure(who + ": " + err);
        }
        data_reply = co_await conn.read_reply(opt.data_init_timeout, err);
        if (!data_reply) co_return session_failure(who + ": " + err);
    } else {
        bool wrote = co_await conn.write(mail, opt.command_timeout, err);
        if (!wrote) co_return session_failure(who + ": " + err);
        mail_reply = co_await conn.read_reply(opt.command_timeout, err);
        if (!mail_reply) co_return session_failure(who + ": " + err);
        if (mail_reply->positive()) {
            for (std::size_t i = 0; i < n; ++i) {
                bool w = co_await conn.write(rcpts[i], opt.command_timeout, err);
                if (!w) co_return session_failure(who + ": " + err);
                rcpt_replies[i] = co_await conn.read_reply(opt.command_timeout, err);
                if (!rcpt_replies[i]) co_return session_failure(who + ": " + err);
            }
        }
    }

    if (!mail_reply->positive()) {
        // RFC 5321 §4.5.4.1: a 5yz to MAIL is not cached, but it is this message's answer here.
        if (mail_reply->transient()) {
            co_await conn.write("QUIT\r\n", std::chrono::seconds(5), err);
            co_return session_failure(who + " MAIL: " + mail_reply->summary());
        }
        for (auto& r : result.recipients) r = from_reply(*mail_reply);
        bool q = co_await conn.write("QUIT\r\n", std::chrono::seconds(5), err);
        (void)q;
        co_return result;
    }

    std::size_t accepted = 0;
    for (std::size_t i = 0; i < n; ++i) {
        auto& rr = *rcpt_replies[i];
        if (rr.positive()) ++accepted;
        else result.recipients[i] = from_reply(rr);
    }

    if (!caps.pipelining && accepted > 0) {
        bool w = co_await conn.write("DATA\r\n", opt.command_timeout, err);
        if (!w) co_return session_failure(who + ": " + err);
        data_reply = co_await conn.read_reply(opt.data_init_timeout, err);
        if (!data_reply) co_return session_failure(who + ": " + err);
    }

    if (accepted == 0) {
        // RFC 2920 §3.1: if DATA was accepted anyway, end it with an empty message; nothing is delivered.
        if (data_reply && data_reply->code == 354) {
            bool w = co_await conn.write(".\r\n", opt.data_block_timeout, err);
            if (w) co_await conn.read_reply(opt.data_end_timeout, err);
        }
        bool q = co_await conn.write("QUIT\r\n", std::chrono::seconds(5), err);
        (void)q;
        co_return result;
    }

    auto set_accepted = [&](const RecipientReply& r) {
        for (std::size_t i = 0; i < n; ++i)
            if (rcpt_replies[i] && rcpt_replies[i]->positive()) result.recipients[i] = r;
    };
    if (data_reply->code != 354) {
        set_accepted(from_reply(*data_reply).outcome == RecipientReply::Outcome::Delivered
                         ? local_failure(RecipientReply::Outcome::Deferred, 451, "4.5.0",
                                         "unexpected reply to DATA: " + data_reply->summary())
                         : from_reply(*data_reply));
        bool q = co_await conn.write("QUIT\r\n", std::chrono::seconds(5), err);
        (void)q;
        co_return result;
    }

    auto body = dot_stuff(message);
    bool sent = co_await conn.write(std::move(body), opt.data_block_timeout, err);
    if (!sent) {
        set_accepted(local_failure(RecipientReply::Outcome::Deferred, 451, "4.4.2", who + ": " + err));
        co_return result;
    }
    auto final_reply = co_await conn.read_reply(opt.data_end_timeout, err);
    if (!final_reply) {
        // RFC 5321 §6.1: without the final reply we cannot know; retrying risks a duplicate, never a loss.
        set_accepted(local_failure(RecipientReply::Outcome::Deferred, 451, "4.4.2", who + ": " + err));
        co_return result;
    }
    set_accepted(from_reply(*final_reply));
    bool q = co_await conn.write("QUIT\r\n", std::chrono::seconds(5), err);
    if (q) co_await conn.read_reply(std::chrono::seconds(5), err);
    co_return result;
}

}  // namespace

awaitable<TransactionResult> send_transaction(asio::any_io_executor ex, asio::ssl::context& tls,
                                              const ClientOptions& options, const Target& target,
                                              const Envelope& envelope, std::string_view message) {
    Conn conn(ex, tls);
    std::string err;
    bool connected = co_await conn.connect(target.address, target.port, options.connect_timeout, err);
    if (!connected) {
        co_return session_failure(target.host + "[" + target.address + "]:" + std::to_string(target.port) + ": " + err);
    }
    auto result = co_await run(conn, options, target, envelope, message);
    conn.close();
    co_return result;
}

}  // namespace roost::outbound
