#include "common/net/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>

#include <zlib.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "common/core/log.hpp"
#include "common/net/connection_impl.hpp"

namespace roost::net {

namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct Deflate {
    z_stream in{}, out{};
    std::string raw;  // compressed input not yet inflated (in.next_in points into it)
    Deflate() {
        // RFC 4978 §3: raw deflate (RFC 1951), no zlib header.
        inflateInit2(&in, -15);
        deflateInit2(&out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    }
    ~Deflate() {
        inflateEnd(&in);
        deflateEnd(&out);
    }
};

Connection::Impl::~Impl() = default;

Connection::Impl::Impl(tcp::socket s, asio::ssl::context* ctx)
    : socket(std::move(s)), tls_ctx(ctx), timer(socket.get_executor()), write_timer(socket.get_executor()),
      sid(log::new_session_id()) {
    boost::system::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (!ec) {
        auto addr = remote.address();
        if (addr.is_v6() && addr.to_v6().is_v4_mapped()) addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
        peer_ip = addr.to_string();
        peer_port = remote.port();
        loopback = addr.is_loopback();
    }
    auto local = socket.local_endpoint(ec);
    if (!ec) {
        local_ip = local.address().to_string();
        local_port = local.port();
    }
    socket.set_option(tcp::no_delay(true), ec);
}

awaitable<std::size_t> Connection::Impl::read_some(char* data, std::size_t size) {
    if (closed) co_return 0;
    timed_out = false;
    std::chrono::steady_clock::duration wait = timeout;
    if (in_transfer) {
        auto left = transfer_deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero()) {
            timed_out = true;
            co_return 0;
        }
        wait = std::min(wait, left);
    }
    timer.expires_after(wait);
    timer.async_wait([this](boost::system::error_code ec) {
        if (!ec) {
            timed_out = true;
            boost::system::error_code ignored;
            socket.cancel(ignored);
        }
    });
    boost::system::error_code ec;
    std::size_t n = 0;
    if (tls) std::tie(ec, n) = co_await tls->async_read_some(asio::buffer(data, size), use_tuple);
    else std::tie(ec, n) = co_await socket.async_read_some(asio::buffer(data, size), use_tuple);
    timer.cancel();
    if (ec) co_return 0;
    if (in_transfer)
        transfer_deadline += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(static_cast<double>(n) / Connection::kMinTransferRate));
    co_return n;
}

void Connection::Impl::request_shutdown() {
    shutdown = true;
    if (idle) {
        boost::system::error_code ignored;
        socket.cancel(ignored);
    }
}

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() = default;

awaitable<ReadStatus> Connection::fill() {
    auto& s = *impl_;
    if (s.start > 0 && (s.start == s.buf.size() || s.start > 65536)) {
        s.buf.erase(0, s.start);
        s.start = 0;
    }
    constexpr std::size_t chunk = 16384;
    if (s.z) {
        auto& z = *s.z;
        for (;;) {
            if (z.in.avail_in == 0) {
                z.raw.resize(chunk);
                auto n = co_await s.read_some(z.raw.data(), chunk);
                if (n == 0) {
                    if (s.shutdown && s.idle) co_return ReadStatus::Shutdown;
                    co_return s.timed_out ? ReadStatus::Timeout : ReadStatus::Eof;
                }
                z.in.next_in = reinterpret_cast<Bytef*>(z.raw.data());
                z.in.avail_in = static_cast<uInt>(n);
            }
            // Inflate at most 64 KiB per call: a decompression bomb cannot grow the buffer unboundedly
            // (the line reader's limits apply to what comes out).
            constexpr std::size_t out_chunk = 65536;
            auto old = s.buf.size();
            s.buf.resize(old + out_chunk);
            z.in.next_out = reinterpret_cast<Bytef*>(s.buf.data() + old);
            z.in.avail_out = static_cast<uInt>(out_chunk);
            int rc = inflate(&z.in, Z_SYNC_FLUSH);
            auto produced = out_chunk - z.in.avail_out;
            s.buf.resize(old + produced);
            if (rc != Z_OK && rc != Z_BUF_ERROR) co_return ReadStatus::Eof;  // corrupt stream
            if (produced > 0) co_return ReadStatus::Ok;
        }
    }
    auto old = s.buf.size();
    s.buf.resize(old + chunk);
    auto n = co_await s.read_some(s.buf.data() + old, chunk);
    s.buf.resize(old + n);
    if (n == 0) {
        if (s.shutdown && s.idle) co_return ReadStatus::Shutdown;
        co_return s.timed_out ? ReadStatus::Timeout : ReadStatus::Eof;
    }
    co_return ReadStatus::Ok;
}

std::string_view Connection::buffered() const {
    return std::string_view(impl_->buf).substr(impl_->start);
}

void Connection::consume(std::size_t n) {
    impl_->start = std::min(impl_->start + n, impl_->buf.size());
}

awaitable<ReadStatus> Connection::read_line(std::string& line, std::size_t max_length, bool idle) {
    auto& s = *impl_;
    // The line is a transfer of its own unless it is part of a larger one.
    struct Transfer {
        Connection& c;
        bool own;
        ~Transfer() {
            if (own) c.end_transfer();
        }
    } transfer{*this, !s.in_transfer};
    begin_transfer();
    bool discarding = false;
    std::size_t scanned = 0;  // bytes of the buffered view already searched for LF
    for (;;) {
        auto view = buffered();
        auto lf = view.find('\n', scanned);
        if (lf != std::string_view::npos) {
            auto end = lf;
            if (end > 0 && view[end - 1] == '\r') --end;
            // The limit is on the line without its CR LF / LF, whichever ending the client used.
            if (discarding || end > max_length) {
                consume(lf + 1);
                co_return ReadStatus::TooLong;
            }
            line.assign(view.substr(0, end));
            consume(lf + 1);
            co_return ReadStatus::Ok;
        }
        if (view.size() > max_length + 1) {
            // Over the limit: drop what we have and keep reading until the end of the line (bounded memory).
            discarding = true;
            consume(view.size());
            scanned = 0;
        } else scanned = view.size();
        if (s.shutdown && idle && view.empty()) co_return ReadStatus::Shutdown;
        s.idle = idle && view.empty() && !discarding;
        auto st = co_await fill();
        s.idle = false;
        if (st != ReadStatus::Ok) co_return st;
    }
}

awaitable<bool> Connection::write(std::string_view plain) {
    auto& s = *impl_;
    if (s.closed) co_return false;
    std::string compressed;
    std::string_view data = plain;
    if (s.z) {
        auto& out = s.z->out;
        out.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
        out.avail_in = static_cast<uInt>(plain.size());
        do {
            auto old = compressed.size();
            compressed.resize(old + plain.size() / 2 + 1024);
            out.next_out = reinterpret_cast<Bytef*>(compressed.data() + old);
            out.avail_out = static_cast<uInt>(compressed.size() - old);
            deflate(&out, Z_SYNC_FLUSH);
            compressed.resize(compressed.size() - out.avail_out);
        } while (out.avail_in > 0 || out.avail_out == 0);
        data = compressed;
    }
    s.write_timer.expires_after(s.timeout);
    s.write_timer.async_wait([&s](boost::system::error_code ec) {
        if (!ec) {
            boost::system::error_code ignored;
            s.socket.cancel(ignored);
        }
    });
    boost::system::error_code ec;
    if (s.tls) std::tie(ec, std::ignore) = co_await asio::async_write(*s.tls, asio::buffer(data), use_tuple);
    else std::tie(ec, std::ignore) = co_await asio::async_write(s.socket, asio::buffer(data), use_tuple);
    s.write_timer.cancel();
    if (ec) {
        s.closed = true;
        co_return false;
    }
    co_return true;
}

awaitable<bool> Connection::start_tls() {
    auto& s = *impl_;
    if (s.tls || !s.tls_ctx) co_return false;
    // Nothing the client sent before the handshake may be interpreted after it.
    s.buf.clear();
    s.start = 0;
    s.tls = std::make_unique<asio::ssl::stream<tcp::socket&>>(s.socket, *s.tls_ctx);
    s.timed_out = false;
    s.timer.expires_after(std::min(s.timeout, std::chrono::seconds(60)));
    s.timer.async_wait([&s](boost::system::error_code ec) {
        if (!ec) {
            boost::system::error_code ignored;
            s.socket.cancel(ignored);
        }
    });
    auto [ec] = co_await s.tls->async_handshake(asio::ssl::stream_base::server, use_tuple);
    s.timer.cancel();
    if (ec) {
        log::debug(s.sid) << "TLS handshake failed: " << ec.message();
        s.closed = true;
        co_return false;
    }
    co_return true;
}

void Connection::start_compression() {
    impl_->buf.clear();
    impl_->start = 0;
    impl_->z = std::make_unique<Deflate>();
}

bool Connection::compression_active() const { return impl_->z != nullptr; }

bool Connection::tls_active() const { return impl_->tls != nullptr && !impl_->closed; }

std::string Connection::tls_description() const {
    if (!impl_->tls) return {};
    SSL* ssl = impl_->tls->native_handle();
    return std::string(SSL_get_version(ssl)) + " " + SSL_get_cipher_name(ssl);
}

void Connection::set_timeout(std::chrono::seconds timeout) { impl_->timeout = timeout; }
void Connection::begin_transfer() {
    if (impl_->in_transfer) return;
    impl_->in_transfer = true;
    impl_->transfer_deadline = std::chrono::steady_clock::now() + impl_->timeout;
}
void Connection::end_transfer() { impl_->in_transfer = false; }
std::chrono::seconds Connection::timeout() const { return impl_->timeout; }
const std::string& Connection::peer_ip() const { return impl_->peer_ip; }
std::uint16_t Connection::peer_port() const { return impl_->peer_port; }
const std::string& Connection::local_ip() const { return impl_->local_ip; }
std::uint16_t Connection::local_port() const { return impl_->local_port; }
bool Connection::peer_is_loopback() const { return impl_->loopback; }
const std::string& Connection::session_id() const { return impl_->sid; }
bool Connection::shutting_down() const { return impl_->shutdown; }

// Parameters are taken by reference: the caller's temporaries live until the co_await completes (and
// GCC 12 mis-handles moved-from by-value coroutine parameters).
awaitable<void> Connection::suspend_until(const std::function<void(std::function<void()> resume)>& start) {
    auto ex = impl_->socket.get_executor();
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [ex, &start](auto handler) {
            auto h = std::make_shared<decltype(handler)>(std::move(handler));
            start([ex, h]() { asio::post(ex, [h]() mutable { std::move (*h)(); }); });
        },
        asio::use_awaitable);
}

namespace {
// A fixed pool for blocking work; sized for password hashing on small machines.
class WorkerPool {
public:
    static WorkerPool& instance() {
        // Never destroyed: the detached workers wait on cv_ until the process ends, and destroying a
        // condition variable with waiters blocks exit() forever in glibc (pthread_cond_destroy).
        static WorkerPool* pool = new WorkerPool(std::max(2u, std::thread::hardware_concurrency()));
        return *pool;
    }
    void post(std::function<void()> fn) {
        {
            std::lock_guard lock(mu_);
            queue_.push_back(std::move(fn));
        }
        cv_.notify_one();
    }

private:
    explicit WorkerPool(unsigned n) {
        for (unsigned i = 0; i < n; ++i)
            std::thread([this] {
                for (;;) {
                    std::function<void()> fn;
                    {
                        std::unique_lock lock(mu_);
                        cv_.wait(lock, [&] { return !queue_.empty(); });
                        fn = std::move(queue_.front());
                        queue_.pop_front();
                    }
                    fn();
                }
            }).detach();
    }
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> queue_;
};
}  // namespace

awaitable<void> Connection::run_blocking(const std::function<void()>& work) {
    co_await suspend_until([&work](std::function<void()> resume) {
        WorkerPool::instance().post([&work, resume = std::move(resume)] {
            work();
            resume();
        });
    });
}

void Connection::post(std::function<void()> fn) { asio::post(impl_->socket.get_executor(), std::move(fn)); }

void Connection::spawn(std::function<awaitable<void>()> fn) {
    asio::co_spawn(
        impl_->socket.get_executor(), [fn = std::move(fn)]() -> awaitable<void> { co_await fn(); }, asio::detached);
}

awaitable<void> Connection::sleep(std::chrono::milliseconds d) {
    asio::steady_timer t(impl_->socket.get_executor());
    t.expires_after(d);
    co_await t.async_wait(use_tuple);
}

void Connection::close() {
    auto& s = *impl_;
    if (s.closed) return;
    s.closed = true;
    boost::system::error_code ignored;
    s.socket.shutdown(tcp::socket::shutdown_both, ignored);
    s.socket.close(ignored);
}

}  // namespace roost::net
