// The one translation unit of roost-admin that includes Boost.Beast: request parsing with Beast's bounded
// HTTP/1.1 parser (fed from the Connection's buffer, so TLS and plain listeners share one path) and
// response serialization.
#include "admin-ui/http/message.hpp"

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cctype>

namespace roost::admin::http {
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {
std::string lower(std::string_view s) {
    std::string o(s);
    for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return o;
}

int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void parse_query(std::string_view q, std::map<std::string, std::string>& out) {
    while (!q.empty()) {
        auto amp = q.find('&');
        auto part = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
        if (part.empty()) continue;
        auto eq = part.find('=');
        auto name = percent_decode(part.substr(0, eq), true);
        auto value = eq == std::string_view::npos ? std::string() : percent_decode(part.substr(eq + 1), true);
        out[name] = value;
    }
}
}  // namespace

std::string percent_decode(std::string_view s, bool plus_as_space) {
    std::string o;
    o.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            o += static_cast<char>(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else if (s[i] == '+' && plus_as_space) {
            o += ' ';
        } else {
            o += s[i];
        }
    }
    return o;
}

std::string Request::cookie(std::string_view name) const {
    // RFC 6265 §5.4: "a=b; c=d"
    std::string_view all;
    auto it = headers.find("cookie");
    if (it == headers.end()) return {};
    all = it->second;
    while (!all.empty()) {
        auto semi = all.find(';');
        auto part = all.substr(0, semi);
        all = semi == std::string_view::npos ? std::string_view() : all.substr(semi + 1);
        while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
        auto eq = part.find('=');
        if (eq != std::string_view::npos && part.substr(0, eq) == name) return std::string(part.substr(eq + 1));
    }
    return {};
}

bool Response::has(std::string_view name) const {
    auto n = lower(name);
    for (auto& [k, v] : headers)
        if (lower(k) == n) return true;
    return false;
}

struct RequestReader::Impl {
    bhttp::request_parser<bhttp::string_body> parser;
    State state = State::NeedMore;
};

RequestReader::RequestReader(const Limits& limits) : impl_(std::make_unique<Impl>()) {
    impl_->parser.header_limit(static_cast<std::uint32_t>(limits.header_bytes));
    impl_->parser.body_limit(limits.body_bytes);
    impl_->parser.eager(true);
}

RequestReader::~RequestReader() = default;

RequestReader::State RequestReader::feed(std::string_view bytes, std::size_t& consumed) {
    consumed = 0;
    auto& p = impl_->parser;
    while (impl_->state == State::NeedMore && consumed < bytes.size()) {
        beast::error_code ec;
        auto n = p.put(boost::asio::const_buffer(bytes.data() + consumed, bytes.size() - consumed), ec);
        consumed += n;
        if (p.is_done()) impl_->state = State::Done;
        else if (ec == bhttp::error::header_limit || ec == bhttp::error::body_limit) impl_->state = State::TooLarge;
        else if (ec == bhttp::error::need_more) break;  // Beast wants the rest of a line or the header first
        else if (ec) impl_->state = State::BadRequest;
        else if (n == 0) break;
    }
    return impl_->state;
}

Request RequestReader::take() {
    auto& m = impl_->parser.get();
    Request out;
    out.method = std::string(m.method_string());
    out.target = std::string(m.target());
    out.version = m.version();
    out.keep_alive = m.keep_alive();
    for (auto& f : m) {
        auto name = lower(f.name_string());
        auto& slot = out.headers[name];
        slot = slot.empty() ? std::string(f.value()) : slot + ", " + std::string(f.value());
    }
    std::string_view target = out.target;
    auto q = target.find('?');
    out.path = percent_decode(target.substr(0, q), false);
    if (q != std::string_view::npos) parse_query(target.substr(q + 1), out.query);
    out.body = std::move(m.body());
    return out;
}

net::awaitable<ReadResult> read_request(net::Connection& conn, Request& out, const Limits& limits) {
    RequestReader reader(limits);
    // The whole request is one transfer (a client trickling header bytes is timed out).
    conn.begin_transfer();
    for (;;) {
        std::size_t used = 0;
        auto state = reader.feed(conn.buffered(), used);
        conn.consume(used);
        if (state == RequestReader::State::Done) break;
        if (state == RequestReader::State::TooLarge || state == RequestReader::State::BadRequest) {
            conn.end_transfer();
            co_return state == RequestReader::State::TooLarge ? ReadResult::TooLarge : ReadResult::BadRequest;
        }
        auto status = co_await conn.fill();
        if (status != net::ReadStatus::Ok) {
            conn.end_transfer();
            co_return ReadResult::Closed;
        }
    }
    conn.end_transfer();
    out = reader.take();
    co_return ReadResult::Ok;
}

const char* reason_phrase(int status) {
    return bhttp::obsolete_reason(static_cast<bhttp::status>(status)).data();
}

std::string serialize(const Response& r, bool keep_alive, bool head_only) {
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " ";
    out += std::string(bhttp::obsolete_reason(static_cast<bhttp::status>(r.status)));
    out += "\r\n";
    for (auto& [k, v] : r.headers) {
        out += k;
        out += ": ";
        // Header values never carry CR or LF (response splitting): handlers build them, but be certain.
        for (char c : v)
            if (c != '\r' && c != '\n') out += c;
        out += "\r\n";
    }
    out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
    out += "\r\n";
    if (!head_only) out += r.body;
    return out;
}

}  // namespace roost::admin::http
