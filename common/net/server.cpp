#include "common/net/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <grp.h>
#include <openssl/ssl.h>
#include <pwd.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/core/endpoint.hpp"
#include "common/core/log.hpp"
#include "common/net/connection_impl.hpp"

namespace roost::net {

namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct Server::State {
    ServerLimits limits;
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
    asio::ssl::context tls{asio::ssl::context::tls_server};
    bool tls_ready = false;
    struct Listener {
        ListenerSpec spec;
        std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
    };
    std::vector<std::unique_ptr<Listener>> listeners;
    std::mutex mu;
    std::map<std::string, std::uint32_t> per_ip;
    std::uint32_t total = 0;
    std::set<Connection::Impl*> live;
    std::atomic<bool> stopping{false};
    std::atomic<unsigned> next{0};
    std::unique_ptr<asio::signal_set> signals;
    std::unique_ptr<asio::steady_timer> grace;

    asio::io_context& main() { return *contexts[0]; }

    bool admit(const std::string& ip) {
        std::lock_guard lock(mu);
        if (total >= limits.max_connections) return false;
        auto& n = per_ip[ip];
        if (n >= limits.max_connections_per_ip) {
            if (n == 0) per_ip.erase(ip);
            return false;
        }
        ++n;
        ++total;
        return true;
    }
    void release(const std::string& ip, Connection::Impl* impl) {
        bool done = false;
        {
            std::lock_guard lock(mu);
            if (auto it = per_ip.find(ip); it != per_ip.end() && --it->second == 0) per_ip.erase(it);
            --total;
            live.erase(impl);
            done = stopping && live.empty();
        }
        if (done) finish();
    }
    void finish() {
        asio::post(main(), [this] {
            for (auto& g : guards) g.reset();
            if (grace) grace->cancel();
            if (signals) signals->cancel();
        });
    }

    awaitable<void> session(tcp::socket sock, Listener& l) {
        boost::system::error_code ec;
        auto remote = sock.remote_endpoint(ec);
        if (ec) co_return;
        auto addr = remote.address();
        if (addr.is_v6() && addr.to_v6().is_v4_mapped()) addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
        auto ip = addr.to_string();
        if (stopping || !admit(ip)) {
            log::warn() << l.spec.name << ": connection limit reached, refusing " << ip;
            if (!l.spec.busy_reply.empty() && !l.spec.implicit_tls)
                co_await asio::async_write(sock, asio::buffer(l.spec.busy_reply), use_tuple);
            sock.close(ec);
            co_return;
        }
        auto impl = std::make_unique<Connection::Impl>(std::move(sock), tls_ready ? &tls : nullptr);
        auto* raw = impl.get();
        {
            std::lock_guard lock(mu);
            live.insert(raw);
        }
        {
            Connection conn(std::move(impl));
            log::debug(conn.session_id()) << l.spec.name << ": connect from " << ip << " port " << conn.peer_port();
            try {
                bool ok = true;
                if (l.spec.implicit_tls) {
                    auto t = conn.timeout();
                    conn.set_timeout(limits.tls_handshake_timeout);
                    ok = co_await conn.start_tls();
                    conn.set_timeout(t);
                }
                if (ok) co_await l.spec.handler(conn);
            } catch (const std::exception& e) {
                log::error(conn.session_id()) << l.spec.name << ": session failed: " << e.what();
            }
            conn.close();
            log::debug(conn.session_id()) << l.spec.name << ": disconnect " << ip;
            // Unregister before the Impl is destroyed: begin_shutdown() (another thread) only touches
            // connections it finds in `live` under `mu`.
            std::lock_guard lock(mu);
            live.erase(raw);
        }
        release(ip, raw);
    }

    awaitable<void> accept_loop(tcp::acceptor& acceptor, Listener& l) {
        for (;;) {
            auto& ctx = *contexts[next++ % contexts.size()];
            auto [ec, sock] = co_await acceptor.async_accept(ctx.get_executor(), use_tuple);
            if (ec) {
                if (ec == asio::error::operation_aborted || stopping) co_return;
                // EMFILE and friends: back off briefly instead of spinning.
                log::warn() << l.spec.name << ": accept failed: " << ec.message();
                asio::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(100));
                co_await t.async_wait(use_tuple);
                continue;
            }
            auto ex = sock.get_executor();
            asio::co_spawn(ex, session(std::move(sock), l), asio::detached);
        }
    }

    void begin_shutdown() {
        if (stopping.exchange(true)) return;
        log::info() << "shutting down: no new connections; open sessions finish their current command";
        for (auto& l : listeners)
            for (auto& a : l->acceptors) {
                boost::system::error_code ec;
                a->close(ec);
            }
        bool empty;
        {
            std::lock_guard lock(mu);
            empty = live.empty();
            // The session may end before the posted call runs; it runs on the session's own executor, so
            // it is still registered in `live` exactly when its Impl is still alive.
            for (auto* impl : live)
                asio::post(impl->socket.get_executor(), [this, impl] {
                    std::lock_guard lock(mu);
                    if (live.count(impl)) impl->request_shutdown();
                });
        }
        if (empty) {
            finish();
            return;
        }
        grace = std::make_unique<asio::steady_timer>(main(), limits.shutdown_grace);
        grace->async_wait([this](boost::system::error_code ec) {
            if (ec) return;
            log::warn() << "shutdown grace period over; closing remaining sessions";
            for (auto& c : contexts) c->stop();
        });
    }
};

Server::Server(const std::string& cert_path, const std::string& key_path, ServerLimits limits, unsigned threads)
    : s_(std::make_unique<State>()) {
    s_->limits = limits;
    if (threads == 0) threads = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
    for (unsigned i = 0; i < threads; ++i) {
        s_->contexts.push_back(std::make_unique<asio::io_context>(1));
        s_->guards.push_back(asio::make_work_guard(*s_->contexts.back()));
    }
    // Catch SIGTERM/SIGINT from the start: a stop request during start-up is honoured once run() begins.
    s_->signals = std::make_unique<asio::signal_set>(s_->main(), SIGTERM, SIGINT);
    if (!cert_path.empty()) {
        auto& ctx = s_->tls;
        // TLS 1.2 and 1.3 only, forward-secret AEAD suites (Mozilla "intermediate"); no renegotiation,
        // no compression, no session tickets that outlive a restart's key.
        ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                        asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
        SSL_CTX* native = ctx.native_handle();
        SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
        SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
        SSL_CTX_set_cipher_list(native,
                                "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
        ctx.use_certificate_chain_file(cert_path);
        ctx.use_private_key_file(key_path, asio::ssl::context::pem);
        s_->tls_ready = true;
    }
}

Server::~Server() {
    for (auto& g : s_->guards) g.reset();
}

void Server::listen(ListenerSpec spec) {
    auto l = std::make_unique<State::Listener>();
    l->spec = std::move(spec);
    if (l->spec.implicit_tls && !s_->tls_ready) throw std::runtime_error(l->spec.name + ": TLS listener without a certificate");
    for (auto& text : l->spec.endpoints) {
        auto ep = parse_endpoint(text);
        if (!ep) throw std::runtime_error(l->spec.name + ": invalid listen address '" + text + "'");
        tcp::endpoint endpoint(asio::ip::make_address(ep->host), ep->port);
        auto a = std::make_unique<tcp::acceptor>(s_->main());
        a->open(endpoint.protocol());
        a->set_option(tcp::acceptor::reuse_address(true));
        if (endpoint.address().is_v6()) a->set_option(asio::ip::v6_only(true));
        boost::system::error_code ec;
        a->bind(endpoint, ec);
        if (ec) throw std::runtime_error(l->spec.name + ": cannot listen on " + text + ": " + ec.message());
        a->listen(asio::socket_base::max_listen_connections);
        log::info() << l->spec.name << ": listening on " << text << (l->spec.implicit_tls ? " (TLS)" : "");
        l->acceptors.push_back(std::move(a));
    }
    s_->listeners.push_back(std::move(l));
}

std::vector<std::uint16_t> Server::bound_ports(const std::string& name) const {
    std::vector<std::uint16_t> out;
    for (auto& l : s_->listeners)
        if (l->spec.name == name)
            for (auto& a : l->acceptors) out.push_back(a->local_endpoint().port());
    return out;
}

void Server::drop_privileges(const std::string& user) {
    if (user.empty() || ::geteuid() != 0) return;
    passwd* pw = ::getpwnam(user.c_str());
    if (!pw) throw std::runtime_error("user: unknown user '" + user + "'");
    if (::setgroups(0, nullptr) != 0 || ::setgid(pw->pw_gid) != 0 || ::setuid(pw->pw_uid) != 0)
        throw std::runtime_error("cannot switch to user '" + user + "'");
    if (::setuid(0) == 0) throw std::runtime_error("privileges were not dropped");
    log::info() << "running as user " << user;
}

void Server::run() {
    auto& st = *s_;
    st.signals->async_wait([this](boost::system::error_code ec, int) {
        if (!ec) s_->begin_shutdown();
    });
    for (auto& l : st.listeners)
        for (auto& a : l->acceptors) asio::co_spawn(st.main(), st.accept_loop(*a, *l), asio::detached);
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < st.contexts.size(); ++i) threads.emplace_back([&st, i] { st.contexts[i]->run(); });
    st.contexts[0]->run();
    for (auto& t : threads) t.join();
}

void Server::stop() {
    asio::post(s_->main(), [this] { s_->begin_shutdown(); });
}

std::size_t Server::active_connections() const {
    std::lock_guard lock(s_->mu);
    return s_->total;
}

}  // namespace roost::net
