// Connection — one client connection as a protocol session sees it: a byte buffer fed from a plain or TLS
// stream, bounded line reads with timeouts, writes, and an in-place STARTTLS upgrade that discards every byte
// the client sent before the handshake (CVE-2011-0411 class; RFC 3207 §4.2, RFC 2595 §3.1, RFC 9051 §6.2.1).
//
// Sessions include only this header (and <boost/asio/awaitable.hpp> through it); the Asio/OpenSSL machinery
// is compiled once in connection.cpp.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace roost::net {

template <class T>
using awaitable = boost::asio::awaitable<T>;

enum class ReadStatus {
    Ok,
    TooLong,   // the line exceeded the limit; it was consumed up to and including its LF
    Eof,       // peer closed or I/O error
    Timeout,   // nothing arrived within the timeout
    Shutdown,  // the server is stopping and the session was idle
};

class Connection {
public:
    struct Impl;
    explicit Connection(std::unique_ptr<Impl> impl);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Reads one line ending in LF; `line` receives it without CR LF. `idle` marks a wait between commands,
    // where a server shutdown may interrupt it. The whole line is one transfer (begin_transfer()): a client
    // that sends a byte now and then is timed out like one that sends nothing.
    awaitable<ReadStatus> read_line(std::string& line, std::size_t max_length, bool idle = true);
    // Reads at least one more byte into the buffer (or returns what is already buffered).
    awaitable<ReadStatus> fill();
    std::string_view buffered() const;
    void consume(std::size_t n);

    // Writes everything; false if the connection failed (the session should end).
    awaitable<bool> write(std::string_view data);

    // Server-side TLS handshake on this connection. Buffered plaintext is discarded first.
    awaitable<bool> start_tls();
    bool tls_active() const;
    std::string tls_description() const;  // "TLSv1.3 TLS_AES_256_GCM_SHA384", empty without TLS

    // RFC 4978 COMPRESS=DEFLATE: from now on both directions are raw deflate streams (over TLS if active).
    // Call after the (uncompressed) OK has been written. Buffered plaintext is discarded, as for STARTTLS.
    void start_compression();
    bool compression_active() const;

    // timeout() bounds each wait for bytes. A transfer (a command line, a message in DATA/BDAT, an IMAP command
    // with its literals, an HTTP request) is also bounded as a whole: from begin_transfer() until
    // end_transfer(), reads end with ReadStatus::Timeout once timeout() plus one second per
    // kMinTransferRate bytes received has passed, however steadily the bytes trickle in (a slow-sending
    // client must not hold a connection for ever; Postfix's smtpd_min_data_rate works the same way).
    // begin_transfer() during a transfer changes nothing.
    static constexpr std::size_t kMinTransferRate = 500;  // bytes per second
    void set_timeout(std::chrono::seconds timeout);
    std::chrono::seconds timeout() const;
    void begin_transfer();
    void end_transfer();

    const std::string& peer_ip() const;
    std::uint16_t peer_port() const;
    const std::string& local_ip() const;
    std::uint16_t local_port() const;
    bool peer_is_loopback() const;
    const std::string& session_id() const;
    bool shutting_down() const;

    // Suspends until `start` calls the function it is given (from any thread); used to wait for store
    // callbacks without blocking the event loop.
    awaitable<void> suspend_until(const std::function<void(std::function<void()> resume)>& start);
    // Runs CPU-heavy work (password hashing) on a small shared worker pool and resumes afterwards, so the
    // event loop keeps serving other connections meanwhile.
    awaitable<void> run_blocking(const std::function<void()>& work);
    // Runs `fn` on this connection's executor (thread-safe; for store notifications).
    void post(std::function<void()> fn);
    // Starts a second coroutine on this connection's executor (e.g. IMAP IDLE pushes). It must not
    // outlive the session: hold a liveness token.
    void spawn(std::function<awaitable<void>()> fn);
    // Sleeps (used for failed-login delays).
    awaitable<void> sleep(std::chrono::milliseconds d);

    void close();
    Impl& impl() { return *impl_; }

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace roost::net
