// Private to common/net: the Asio state behind a Connection.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/net/connection.hpp"

namespace roost::net {

struct Deflate;  // zlib state, connection.cpp

struct Connection::Impl {
    Impl(boost::asio::ip::tcp::socket s, boost::asio::ssl::context* ctx);

    // Reads some bytes with the current timeout. Returns 0 on EOF/error/timeout (see timed_out / shutdown).
    awaitable<std::size_t> read_some(char* data, std::size_t size);
    void request_shutdown();  // from the server, on this connection's executor

    boost::asio::ip::tcp::socket socket;
    boost::asio::ssl::context* tls_ctx;
    std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls;
    boost::asio::steady_timer timer;        // read deadline
    boost::asio::steady_timer write_timer;  // write deadline (a push may write while a read waits)
    std::string buf;
    std::size_t start = 0;  // consumed prefix of buf
    std::chrono::seconds timeout{300};
    // Connection::begin_transfer(): while `in_transfer`, no read waits past `transfer_deadline`, which each
    // byte received moves on by 1/kMinTransferRate seconds.
    bool in_transfer = false;
    std::chrono::steady_clock::time_point transfer_deadline;
    bool timed_out = false, idle = false, shutdown = false, closed = false;
    std::string peer_ip, local_ip, sid;
    std::uint16_t peer_port = 0, local_port = 0;
    bool loopback = false;
    std::unique_ptr<Deflate> z;
    ~Impl();
};

}  // namespace roost::net
