#include "common/core/endpoint.hpp"

#include <arpa/inet.h>
#include <charconv>

namespace roost {

std::optional<Endpoint> parse_endpoint(std::string_view text) {
    Endpoint ep;
    std::string_view port;
    if (text.starts_with('[')) {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
        ep.host = std::string(text.substr(1, close - 1));
        port = text.substr(close + 2);
        in6_addr a6{};
        if (inet_pton(AF_INET6, ep.host.c_str(), &a6) != 1) return std::nullopt;
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos || text.find(':') != colon) return std::nullopt;
        ep.host = std::string(text.substr(0, colon));
        port = text.substr(colon + 1);
        in_addr a4{};
        if (inet_pton(AF_INET, ep.host.c_str(), &a4) != 1) return std::nullopt;
    }
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc{} || p != port.data() + port.size() || v > 65535 || port.empty()) return std::nullopt;
    ep.port = static_cast<std::uint16_t>(v);
    return ep;
}

}  // namespace roost
