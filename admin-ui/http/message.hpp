// HTTP/1.1 messages as roost-admin's handlers see them (RFC 9110, RFC 9112), free of Beast and Asio: the
// request parser (Boost.Beast's, with limits) and the response writer live in message.cpp, the only file
// that includes Beast, so its heavy headers are compiled once.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/net/connection.hpp"

namespace roost::admin::http {

struct Request {
    std::string method;  // "GET", "POST", ... as sent (methods are case-sensitive, RFC 9110 §9.1)
    std::string target;  // request-target as sent
    std::string path;    // target before '?', percent-decoded
    std::map<std::string, std::string> query;    // decoded name -> value (last one wins)
    std::map<std::string, std::string> headers;  // lower-case name -> value (repeated fields joined by ", ")
    std::string body;
    unsigned version = 11;  // 10 or 11
    bool keep_alive = true;

    std::string header(const std::string& lower_name) const {
        auto it = headers.find(lower_name);
        return it == headers.end() ? std::string() : it->second;
    }
    std::string cookie(std::string_view name) const;
};

struct Response {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    Response& set(std::string name, std::string value) {
        headers.emplace_back(std::move(name), std::move(value));
        return *this;
    }
    bool has(std::string_view name) const;
};

struct Limits {
    std::size_t header_bytes = 16 * 1024;
    std::size_t body_bytes = 1024 * 1024;
};

enum class ReadResult {
    Ok,
    Closed,      // EOF, timeout or shutdown before a complete request: close without answering
    BadRequest,  // syntax error: answer 400 and close
    TooLarge,    // header or body over the limits: answer 413/431 and close
};

// Pure incremental request parser (no I/O): feed it bytes in pieces of any size, it says how many it took.
// One reader parses one request; make a new one for the next request on a keep-alive connection.
class RequestReader {
public:
    enum class State { NeedMore, Done, BadRequest, TooLarge };
    explicit RequestReader(const Limits& limits);
    ~RequestReader();
    RequestReader(const RequestReader&) = delete;
    RequestReader& operator=(const RequestReader&) = delete;

    // Consumes a prefix of `bytes` (possibly none when more input is needed to make progress); `consumed`
    // says how much. Bytes after a complete request are left for the next one (pipelining).
    State feed(std::string_view bytes, std::size_t& consumed);
    // After Done: the request. Moves it out; call once.
    Request take();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Reads one request from the connection (whatever the Connection has buffered first).
net::awaitable<ReadResult> read_request(net::Connection& conn, Request& out, const Limits& limits);

// The bytes of a response: status line, the headers given, Content-Length, Connection. `head_only` omits
// the body (HEAD, RFC 9110 §9.3.2).
std::string serialize(const Response& r, bool keep_alive, bool head_only);

const char* reason_phrase(int status);
std::string percent_decode(std::string_view s, bool plus_as_space);

}  // namespace roost::admin::http
