// roost-admin's request handling: the /api/v1 JSON API (route table in api.cpp, documented in docs/api.md),
// panel login sessions with CSRF protection, API tokens, the static panel files and client autoconfiguration.
//
// handle_request() is synchronous and may block on the store and on password hashing: the session runs it
// on the worker pool (Connection::run_blocking), never on the event loop.
#pragma once

#include <chrono>
#include <string>

#include "admin-ui/http/message.hpp"
#include "common/core/config.hpp"
#include "storage/mail_store.hpp"

namespace roost::admin {

struct AppContext {
    const Config& config;
    store::MailStore& store;
    std::string web_root;  // folder of index.html, app.js, style.css
};

struct Peer {
    bool tls = false;
    bool loopback = false;
    std::string ip;
    std::string session_id;  // for logs
};

struct Outcome {
    http::Response response;
    // A failed login is answered only after the shared throttle's delay (served by the caller, off the pool).
    std::chrono::milliseconds delay{0};
};

Outcome handle_request(const AppContext& ctx, const http::Request& req, const Peer& peer);

}  // namespace roost::admin
