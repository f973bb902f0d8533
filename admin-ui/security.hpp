// Secrets and browser-facing protections of roost-admin: random session ids, CSRF and API tokens, digests
// (only digests of session ids and tokens are stored), and the security headers every response carries.
#pragma once

#include <string>
#include <string_view>

#include "admin-ui/http/message.hpp"

namespace roost::admin {

// `bytes` random bytes from OpenSSL's CSPRNG, as lower-case hex. Throws if the CSPRNG fails.
std::string random_hex(std::size_t bytes);
// SHA-256 of `data`, lower-case hex.
std::string sha256_hex(std::string_view data);
// Constant-time comparison (CSRF tokens).
bool equal_secret(std::string_view a, std::string_view b);

// Content-Security-Policy without inline script, frame-ancestors 'none' + X-Frame-Options, nosniff,
// Referrer-Policy no-referrer; HSTS on TLS connections.
void add_security_headers(http::Response& r, bool tls);

}  // namespace roost::admin
