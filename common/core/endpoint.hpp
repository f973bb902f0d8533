// "host:port" / "[v6]:port" strings as used by listen keys. Pure parsing; no name resolution.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace roost {

struct Endpoint {
    std::string host;  // literal address, without brackets
    std::uint16_t port = 0;
};

std::optional<Endpoint> parse_endpoint(std::string_view text);

}  // namespace roost
