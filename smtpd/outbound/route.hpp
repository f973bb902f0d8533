// Routing decisions of outbound delivery, pure (no I/O): which hosts to try for a domain (RFC 5321 §5.1,
// RFC 7505 null MX), how recipients are grouped, and when to try again (RFC 5321 §4.5.4.1).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roost::outbound {

struct MxRecord {
    std::uint16_t preference = 0;
    std::string exchange;  // lower-case, no trailing dot; "" is the root (".")
};

// Wire-format rdata of an MX record (RFC 1035 §3.3.9) as a resolver returns it (names uncompressed).
std::optional<MxRecord> parse_mx_rdata(std::string_view rdata);

enum class MxPlanKind {
    Hosts,    // try `hosts` in order
    NullMx,   // RFC 7505: the domain accepts no mail
};

struct MxPlan {
    MxPlanKind kind = MxPlanKind::Hosts;
    std::vector<std::string> hosts;
};

// RFC 5321 §5.1: no MX records → the implicit MX (the domain itself, preference 0); otherwise the exchanges
// ordered by preference, lowest first, with equal preferences shuffled by `shuffle` (the RFC's MUST
// randomize; tests pass a no-op). RFC 7505 §3: a single MX whose exchange is "." means no mail; a "."
// among other records is ignored.
MxPlan plan_mx(std::string_view domain, std::vector<MxRecord> records,
               const std::function<void(std::vector<std::string>&)>& shuffle);

// Recipients grouped by their domain (lower-case), in first-seen order; addresses without '@' fall into "".
std::vector<std::pair<std::string, std::vector<std::size_t>>> group_by_domain(const std::vector<std::string>& addresses);

std::string domain_of(std::string_view address);

// Exponential back-off: initial * 2^(attempts-1) for the attempts-th failure (attempts >= 1), capped at
// `max`.
std::chrono::seconds retry_delay(std::uint32_t attempts, std::chrono::seconds initial, std::chrono::seconds max);

// Parses "host", "host:port", "[v6]:port" or "v4:port"; port defaults to `default_port`.
bool parse_host_port(std::string_view text, std::string& host, std::uint16_t& port, std::uint16_t default_port);

// True for an IPv4 or IPv6 literal.
bool is_ip_literal(std::string_view host);

}  // namespace roost::outbound
