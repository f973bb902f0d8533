// net::Server and net::Connection end to end: bounded line reads, STARTTLS (with the plaintext-injection
// check, CVE-2011-0411 class), implicit TLS, connection limits, timeouts and graceful shutdown.
// The server runs in a background thread with an echo handler; the client is plain sockets + OpenSSL.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include "common/core/certificate.hpp"
#include "common/net/server.hpp"

namespace {

using namespace roost;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;

constexpr std::size_t kMaxLine = 32;

// The session under test: greets, then answers each line. Commands: QUIT, STARTTLS, SHORT (1 s idle
// timeout), STATUS; anything else is echoed as "OK <line>".
net::awaitable<void> echo_session(net::Connection& c) {
    if (!co_await c.write("READY\r\n")) co_return;
    std::string line;
    for (;;) {
        auto st = co_await c.read_line(line, kMaxLine);
        if (st == net::ReadStatus::TooLong) {
            if (!co_await c.write("TOOLONG\r\n")) co_return;
            continue;
        }
        if (st == net::ReadStatus::Timeout) {
            co_await c.write("BYE timeout\r\n");
            co_return;
        }
        if (st == net::ReadStatus::Shutdown) {
            co_await c.write("BYE shutdown\r\n");
            co_return;
        }
        if (st != net::ReadStatus::Ok) co_return;
        if (line == "QUIT") {
            co_await c.write("BYE\r\n");
            co_return;
        }
        if (line == "STARTTLS") {
            if (!co_await c.write("GO\r\n")) co_return;
            if (!co_await c.start_tls()) co_return;
            continue;
        }
        std::string reply;
        if (line == "SHORT") {
            c.set_timeout(1s);
            reply = "SHORT";
        } else if (line == "STATUS") {
            reply = "STATUS tls=" + std::string(c.tls_active() ? "1" : "0") + " peer=" + c.peer_ip() +
                    " loopback=" + (c.peer_is_loopback() ? "1" : "0") + " local=" + std::to_string(c.local_port());
        } else {
            reply = "OK " + line;
        }
        if (!co_await c.write(reply + "\r\n")) co_return;
    }
}

class NetTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        std::string tmpl = ::testing::TempDir() + "roost-net-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        ensure_certificate(dir_ + "/cert.pem", dir_ + "/key.pem", "localhost");
    }
    static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }
    static std::string cert() { return dir_ + "/cert.pem"; }
    static std::string key() { return dir_ + "/key.pem"; }
    static inline std::string dir_;
};

// A Server with a plain and an implicit-TLS listener, running in a background thread.
class TestServer {
public:
    explicit TestServer(net::ServerLimits limits = quick_limits(), unsigned threads = 1)
        : server_(NetTestAccess::cert(), NetTestAccess::key(), limits, threads) {
        server_.listen({"plain", {"127.0.0.1:0"}, false, echo_session, "421 busy\r\n"});
        server_.listen({"tls", {"127.0.0.1:0"}, true, echo_session, "421 busy\r\n"});
        plain_port = server_.bound_ports("plain").at(0);
        tls_port = server_.bound_ports("tls").at(0);
        thread_ = std::thread([this] {
            server_.run();
            returned_ = true;
        });
    }
    ~TestServer() { stop(); }
    static net::ServerLimits quick_limits() {
        net::ServerLimits l;
        l.tls_handshake_timeout = 1s;
        l.shutdown_grace = 5s;
        return l;
    }
    void stop() {
        if (!thread_.joinable()) return;
        server_.stop();
        thread_.join();
    }
    bool returned() const { return returned_; }
    net::Server& server() { return server_; }
    // Waits until the server counts `n` connections.
    bool wait_active(std::size_t n, std::chrono::milliseconds timeout = 2000ms) {
        auto end = Clock::now() + timeout;
        while (Clock::now() < end) {
            if (server_.active_connections() == n) return true;
            std::this_thread::sleep_for(5ms);
        }
        return server_.active_connections() == n;
    }

    std::uint16_t plain_port = 0, tls_port = 0;

private:
    struct NetTestAccess : NetTest {
        using NetTest::cert;
        using NetTest::key;
    };
    net::Server server_;
    std::thread thread_;
    std::atomic<bool> returned_{false};
};

// A blocking client over a TCP socket, optionally upgraded to TLS.
class Client {
public:
    explicit Client(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        timeval tv{5, 0};  // safety net: no test blocks forever
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~Client() {
        if (ssl_) SSL_free(ssl_);
        if (ctx_) SSL_CTX_free(ctx_);
        if (fd_ >= 0) ::close(fd_);
    }
    bool connected() const { return connected_; }

    bool send(std::string_view data) {
        while (!data.empty()) {
            int n = ssl_ ? SSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                         : static_cast<int>(::send(fd_, data.data(), data.size(), MSG_NOSIGNAL));
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // The next line without CRLF; nullopt on EOF or timeout.
    std::optional<std::string> line(std::chrono::milliseconds timeout = 3000ms) {
        auto end = Clock::now() + timeout;
        for (;;) {
            if (auto p = buf_.find("\r\n"); p != std::string::npos) {
                auto l = buf_.substr(0, p);
                buf_.erase(0, p + 2);
                all_ += l + "\n";
                return l;
            }
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
            if (left.count() <= 0 || !fill(left)) return std::nullopt;
        }
    }

    // True if the server closes the connection within `timeout` (data before the close is kept).
    bool closed_within(std::chrono::milliseconds timeout) {
        auto end = Clock::now() + timeout;
        while (!eof_) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
            if (left.count() <= 0) return false;
            if (!fill(left) && !eof_) return false;
        }
        return true;
    }

    // Client side of a TLS handshake (no certificate verification: the certificate is self-signed).
    bool handshake(int max_version = 0) {
        ctx_ = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
        if (max_version) {
            SSL_CTX_set_security_level(ctx_, 0);
            SSL_CTX_set_cipher_list(ctx_, "DEFAULT:@SECLEVEL=0");
            SSL_CTX_set_min_proto_version(ctx_, 0);
            SSL_CTX_set_max_proto_version(ctx_, max_version);
        }
        ssl_ = SSL_new(ctx_);
        SSL_set_fd(ssl_, fd_);
        SSL_set_tlsext_host_name(ssl_, "localhost");
        if (SSL_connect(ssl_) != 1) {
            ERR_clear_error();
            SSL_free(ssl_);
            ssl_ = nullptr;
            return false;
        }
        return true;
    }
    int tls_version() const { return ssl_ ? SSL_version(ssl_) : 0; }
    const std::string& transcript() const { return all_; }
    std::string pending() const { return buf_; }

private:
    bool fill(std::chrono::milliseconds timeout) {
        char tmp[16384];
        if (!(ssl_ && SSL_pending(ssl_) > 0)) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
        }
        int n = ssl_ ? SSL_read(ssl_, tmp, sizeof tmp) : static_cast<int>(::recv(fd_, tmp, sizeof tmp, 0));
        if (n <= 0) {
            eof_ = true;
            ERR_clear_error();
            return false;
        }
        buf_.append(tmp, static_cast<std::size_t>(n));
        all_raw_.append(tmp, static_cast<std::size_t>(n));
        return true;
    }

    int fd_ = -1;
    bool connected_ = false, eof_ = false;
    SSL_CTX* ctx_ = nullptr;
    SSL* ssl_ = nullptr;
    std::string buf_, all_, all_raw_;
};

// Connects and consumes the greeting.
std::unique_ptr<Client> session(std::uint16_t port, bool tls = false) {
    auto c = std::make_unique<Client>(port);
    EXPECT_TRUE(c->connected());
    if (tls) {
        EXPECT_TRUE(c->handshake());
    }
    EXPECT_EQ(c->line(), "READY");
    return c;
}

TEST_F(NetTest, EchoesLines) {
    TestServer srv;
    auto c = session(srv.plain_port);
    ASSERT_TRUE(c->send("HELLO WORLD\r\n"));
    EXPECT_EQ(c->line(), "OK HELLO WORLD");
    ASSERT_TRUE(c->send("bare lf\n"));
    EXPECT_EQ(c->line(), "OK bare lf");
    ASSERT_TRUE(c->send("\r\n"));
    EXPECT_EQ(c->line(), "OK ");
    ASSERT_TRUE(c->send("STATUS\r\n"));
    EXPECT_EQ(c->line(), "STATUS tls=0 peer=127.0.0.1 loopback=1 local=" + std::to_string(srv.plain_port));
    ASSERT_TRUE(c->send("QUIT\r\n"));
    EXPECT_EQ(c->line(), "BYE");
    EXPECT_TRUE(c->closed_within(2000ms));
    EXPECT_TRUE(srv.wait_active(0));
}

TEST_F(NetTest, PipelinedLinesAreAnsweredInOrder) {
    TestServer srv;
    auto c = session(srv.plain_port);
    ASSERT_TRUE(c->send("A\r\nB\r\nC\r\n"));
    EXPECT_EQ(c->line(), "OK A");
    EXPECT_EQ(c->line(), "OK B");
    EXPECT_EQ(c->line(), "OK C");
}

TEST_F(NetTest, LineSplitAcrossManySmallWrites) {
    TestServer srv;
    auto c = session(srv.plain_port);
    for (std::string_view piece : {"HEL", "LO W", "OR", "LD", "\r", "\n"}) {
        ASSERT_TRUE(c->send(piece));
        std::this_thread::sleep_for(15ms);
    }
    EXPECT_EQ(c->line(), "OK HELLO WORLD");
    for (char ch : std::string("ONE BYTE AT A TIME\r\n")) {
        ASSERT_TRUE(c->send(std::string(1, ch)));
        std::this_thread::sleep_for(2ms);
    }
    EXPECT_EQ(c->line(), "OK ONE BYTE AT A TIME");
}

TEST_F(NetTest, LineLengthLimitIsExact) {
    TestServer srv;
    auto c = session(srv.plain_port);
    std::string at(kMaxLine, 'a'), over(kMaxLine + 1, 'b');
    ASSERT_TRUE(c->send(at + "\r\n"));
    EXPECT_EQ(c->line(), "OK " + at);
    ASSERT_TRUE(c->send(over + "\r\n"));
    EXPECT_EQ(c->line(), "TOOLONG");
    ASSERT_TRUE(c->send(at + "\n"));
    EXPECT_EQ(c->line(), "OK " + at);
    ASSERT_TRUE(c->send(over + "\n"));
    EXPECT_EQ(c->line(), "TOOLONG") << "the limit must not depend on whether the line ends in CRLF or LF";
    ASSERT_TRUE(c->send("NEXT\r\n"));
    EXPECT_EQ(c->line(), "OK NEXT");
}

TEST_F(NetTest, OverlongLineIsRejectedAndSessionContinues) {
    TestServer srv;
    auto c = session(srv.plain_port);
    ASSERT_TRUE(c->send(std::string(100, 'x') + "\r\nNEXT\r\n"));
    EXPECT_EQ(c->line(), "TOOLONG");
    EXPECT_EQ(c->line(), "OK NEXT");
    // A line far longer than any buffer, in many writes: one TOOLONG, then the session goes on.
    std::string chunk(4096, 'y');
    for (int i = 0; i < 256; ++i) ASSERT_TRUE(c->send(chunk));  // 1 MiB without a line end
    ASSERT_TRUE(c->send("\r\nAFTER\r\n"));
    EXPECT_EQ(c->line(5000ms), "TOOLONG");
    EXPECT_EQ(c->line(), "OK AFTER");
    EXPECT_EQ(c->pending(), "");
}

TEST_F(NetTest, StartTlsDiscardsPipelinedPlaintext) {
    TestServer srv;
    auto c = session(srv.plain_port);
    // The attacker's classic: a command smuggled behind STARTTLS in the same packet.
    ASSERT_TRUE(c->send("STARTTLS\r\nINJECTED\r\n"));
    ASSERT_EQ(c->line(), "GO");
    ASSERT_TRUE(c->handshake()) << "TLS handshake after STARTTLS failed";
    EXPECT_GE(c->tls_version(), TLS1_2_VERSION);
    ASSERT_TRUE(c->send("HELLO\r\n"));
    EXPECT_EQ(c->line(), "OK HELLO") << "the first answer after TLS must be to the first command sent over TLS";
    ASSERT_TRUE(c->send("STATUS\r\n"));
    EXPECT_THAT(c->line().value_or(""), HasSubstr("STATUS tls=1"));
    ASSERT_TRUE(c->send("QUIT\r\n"));
    EXPECT_EQ(c->line(), "BYE");
    EXPECT_TRUE(c->closed_within(2000ms));
    EXPECT_EQ(c->transcript().find("INJECTED"), std::string::npos) << c->transcript();
}

TEST_F(NetTest, ImplicitTlsListener) {
    TestServer srv;
    auto c = session(srv.tls_port, true);
    EXPECT_GE(c->tls_version(), TLS1_2_VERSION);
    ASSERT_TRUE(c->send("STATUS\r\n"));
    EXPECT_EQ(c->line(), "STATUS tls=1 peer=127.0.0.1 loopback=1 local=" + std::to_string(srv.tls_port));
    ASSERT_TRUE(c->send(std::string(100, 'x') + "\r\nSECURE\r\n"));
    EXPECT_EQ(c->line(), "TOOLONG");
    EXPECT_EQ(c->line(), "OK SECURE");
    ASSERT_TRUE(c->send("QUIT\r\n"));
    EXPECT_EQ(c->line(), "BYE");
}

TEST_F(NetTest, ImplicitTlsRejectsPlaintextClient) {
    TestServer srv;
    Client c(srv.tls_port);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send("HELLO\r\n"));
    EXPECT_TRUE(c.closed_within(2000ms));
    EXPECT_EQ(c.transcript().find("READY"), std::string::npos) << "the session must not start without TLS";
}

TEST_F(NetTest, ImplicitTlsHandshakeTimesOut) {
    TestServer srv;  // tls_handshake_timeout = 1 s
    Client c(srv.tls_port);
    ASSERT_TRUE(c.connected());
    auto start = Clock::now();
    EXPECT_TRUE(c.closed_within(2500ms)) << "a silent client must not hold a TLS slot";
    EXPECT_GE(Clock::now() - start, 800ms);
}

TEST_F(NetTest, OldTlsVersionsRefused) {
    TestServer srv;
    Client c(srv.tls_port);
    ASSERT_TRUE(c.connected());
    EXPECT_FALSE(c.handshake(TLS1_1_VERSION)) << "TLS 1.1 must be refused";
}

TEST_F(NetTest, PerIpConnectionLimit) {
    auto limits = TestServer::quick_limits();
    limits.max_connections_per_ip = 2;
    TestServer srv(limits);
    auto c1 = session(srv.plain_port);
    auto c2 = session(srv.plain_port);
    Client c3(srv.plain_port);
    ASSERT_TRUE(c3.connected());
    EXPECT_EQ(c3.line(), "421 busy");
    EXPECT_TRUE(c3.closed_within(2000ms));
    EXPECT_EQ(srv.server().active_connections(), 2u);
    // The two admitted sessions are unaffected.
    ASSERT_TRUE(c1->send("PING\r\n"));
    EXPECT_EQ(c1->line(), "OK PING");
    // A slot freed is a slot available again.
    ASSERT_TRUE(c2->send("QUIT\r\n"));
    EXPECT_EQ(c2->line(), "BYE");
    ASSERT_TRUE(srv.wait_active(1));
    auto c4 = session(srv.plain_port);
    ASSERT_TRUE(c4->send("PING\r\n"));
    EXPECT_EQ(c4->line(), "OK PING");
}

TEST_F(NetTest, TotalConnectionLimit) {
    auto limits = TestServer::quick_limits();
    limits.max_connections = 1;
    TestServer srv(limits);
    auto c1 = session(srv.plain_port);
    Client c2(srv.tls_port);  // the limit covers every listener; no plaintext reply on a TLS port
    ASSERT_TRUE(c2.connected());
    EXPECT_TRUE(c2.closed_within(2000ms));
    EXPECT_EQ(c2.transcript(), "");
    Client c3(srv.plain_port);
    EXPECT_EQ(c3.line(), "421 busy");
}

TEST_F(NetTest, IdleTimeoutClosesTheSession) {
    TestServer srv;
    auto c = session(srv.plain_port);
    ASSERT_TRUE(c->send("SHORT\r\n"));
    ASSERT_EQ(c->line(), "SHORT");
    auto start = Clock::now();
    EXPECT_EQ(c->line(2500ms), "BYE timeout");
    auto waited = Clock::now() - start;
    EXPECT_GE(waited, 800ms);
    EXPECT_LE(waited, 2000ms);
    EXPECT_TRUE(c->closed_within(1000ms));
    EXPECT_TRUE(srv.wait_active(0));
}

TEST_F(NetTest, ActivityResetsTheIdleTimeout) {
    TestServer srv;
    auto c = session(srv.plain_port);
    ASSERT_TRUE(c->send("SHORT\r\n"));
    ASSERT_EQ(c->line(), "SHORT");
    for (int i = 0; i < 4; ++i) {  // 4 x 600 ms > 1 s, but never 1 s idle
        std::this_thread::sleep_for(600ms);
        ASSERT_TRUE(c->send("PING\r\n"));
        ASSERT_EQ(c->line(), "OK PING");
    }
}

TEST_F(NetTest, TrickledLineTimesOutAsAWhole) {
    // One byte every 300 ms never leaves the connection idle for the 1 s timeout, but the line as a whole
    // must arrive within it (plus 1 s per kMinTransferRate bytes): a slow client cannot hold the session.
    TestServer srv;
    auto c = session(srv.plain_port);
    ASSERT_TRUE(c->send("SHORT\r\n"));
    ASSERT_EQ(c->line(), "SHORT");
    auto start = Clock::now();
    std::optional<std::string> reply;
    for (int i = 0; i < 10 && !reply; ++i) {
        if (!c->send("x")) break;
        reply = c->line(300ms);
    }
    auto waited = Clock::now() - start;
    EXPECT_EQ(reply, "BYE timeout");
    EXPECT_GE(waited, 900ms);
    EXPECT_LE(waited, 2000ms);
    EXPECT_TRUE(c->closed_within(1000ms));
}

TEST_F(NetTest, StopMakesRunReturnAndClosesIdleSessions) {
    TestServer srv;
    auto c = session(srv.plain_port);
    ASSERT_TRUE(c->send("PING\r\n"));
    ASSERT_EQ(c->line(), "OK PING");
    auto start = Clock::now();
    srv.server().stop();
    EXPECT_EQ(c->line(2000ms), "BYE shutdown");
    EXPECT_TRUE(c->closed_within(2000ms));
    srv.stop();  // joins the run() thread
    EXPECT_TRUE(srv.returned());
    EXPECT_LT(Clock::now() - start, 2500ms);
    Client late(srv.plain_port);
    EXPECT_FALSE(late.connected()) << "no listener after shutdown";
}

TEST_F(NetTest, StopLetsABusySessionFinishItsCommand) {
    TestServer srv;
    auto c = session(srv.plain_port);
    ASSERT_TRUE(c->send("HALF A COMM"));  // mid-command: not idle
    std::this_thread::sleep_for(100ms);
    srv.server().stop();
    std::this_thread::sleep_for(200ms);
    ASSERT_TRUE(c->send("AND\r\n"));
    EXPECT_EQ(c->line(), "OK HALF A COMMAND");
    EXPECT_EQ(c->line(), "BYE shutdown");
    EXPECT_TRUE(c->closed_within(2000ms));
    srv.stop();
    EXPECT_TRUE(srv.returned());
}

TEST_F(NetTest, StopWhileSessionsEndOnOtherThreads) {
    // Sessions on four io_context threads end at the moment stop() asks them to: shutdown must neither
    // touch a finished connection nor hang (run it under ROOST_SANITIZE=ON to see the former).
    for (int round = 0; round < 10; ++round) {
        TestServer srv(TestServer::quick_limits(), 4);
        std::vector<std::unique_ptr<Client>> clients;
        for (int i = 0; i < 16; ++i) clients.push_back(session(srv.plain_port));
        for (auto& c : clients) c->send("QUIT\r\n");
        auto start = Clock::now();
        srv.stop();
        EXPECT_TRUE(srv.returned());
        EXPECT_LT(Clock::now() - start, 3000ms) << "round " << round;
        for (auto& c : clients) {
            auto l = c->line(1000ms);
            EXPECT_TRUE(l == "BYE" || l == "BYE shutdown") << l.value_or("(nothing)");
        }
    }
}

TEST_F(NetTest, StopWithoutSessions) {
    TestServer srv;
    auto start = Clock::now();
    srv.stop();
    EXPECT_TRUE(srv.returned());
    EXPECT_LT(Clock::now() - start, 1000ms);
}

TEST_F(NetTest, ListenErrors) {
    net::Server s(cert(), key(), {}, 1);
    EXPECT_THROW(s.listen({"bad", {"localhost:25"}, false, echo_session, ""}), std::runtime_error);
    s.listen({"one", {"127.0.0.1:0"}, false, echo_session, ""});
    auto port = s.bound_ports("one").at(0);
    EXPECT_NE(port, 0);
    EXPECT_THROW(s.listen({"two", {"127.0.0.1:" + std::to_string(port)}, false, echo_session, ""}), std::runtime_error)
        << "a port in use is an error at listen time";
    net::Server no_tls("", "", {}, 1);
    EXPECT_THROW(no_tls.listen({"tls", {"127.0.0.1:0"}, true, echo_session, ""}), std::runtime_error);
    EXPECT_TRUE(s.bound_ports("unknown").empty());
}

}  // namespace
