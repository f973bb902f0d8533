#include "smtpd/outbound/route.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace roost::outbound {

std::optional<MxRecord> parse_mx_rdata(std::string_view rdata) {
    if (rdata.size() < 3) return std::nullopt;
    MxRecord r;
    r.preference = static_cast<std::uint16_t>((static_cast<unsigned char>(rdata[0]) << 8) |
                                              static_cast<unsigned char>(rdata[1]));
    std::size_t i = 2;
    std::string name;
    for (;;) {
        if (i >= rdata.size()) return std::nullopt;
        auto len = static_cast<unsigned char>(rdata[i++]);
        if (len == 0) break;
        if (len > 63 || i + len > rdata.size()) return std::nullopt;  // compression pointers are not expected
        if (!name.empty()) name += '.';
        for (std::size_t k = 0; k < len; ++k)
            name += static_cast<char>(std::tolower(static_cast<unsigned char>(rdata[i + k])));
        i += len;
        if (name.size() > 253) return std::nullopt;
    }
    r.exchange = std::move(name);
    return r;
}

MxPlan plan_mx(std::string_view domain, std::vector<MxRecord> records,
               const std::function<void(std::vector<std::string>&)>& shuffle) {
    MxPlan plan;
    if (records.empty()) {
        plan.hosts.emplace_back(domain);  // RFC 5321 §5.1 implicit MX
        return plan;
    }
    // RFC 7505 §3: "." as the only exchange announces that the domain accepts no mail.
    if (records.size() == 1 && records[0].exchange.empty()) {
        plan.kind = MxPlanKind::NullMx;
        return plan;
    }
    records.erase(std::remove_if(records.begin(), records.end(), [](const MxRecord& r) { return r.exchange.empty(); }),
                  records.end());
    std::stable_sort(records.begin(), records.end(),
                     [](const MxRecord& a, const MxRecord& b) { return a.preference < b.preference; });
    for (std::size_t i = 0; i < records.size();) {
        std::size_t j = i;
        std::vector<std::string> same;
        while (j < records.size() && records[j].preference == records[i].preference) same.push_back(records[j++].exchange);
        if (same.size() > 1 && shuffle) shuffle(same);
        for (auto& h : same)
            if (std::find(plan.hosts.begin(), plan.hosts.end(), h) == plan.hosts.end()) plan.hosts.push_back(h);
        i = j;
    }
    return plan;
}

std::string domain_of(std::string_view address) {
    auto at = address.rfind('@');
    if (at == std::string_view::npos) return {};
    std::string d(address.substr(at + 1));
    for (auto& c : d) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return d;
}

std::vector<std::pair<std::string, std::vector<std::size_t>>> group_by_domain(const std::vector<std::string>& addresses) {
    std::vector<std::pair<std::string, std::vector<std::size_t>>> out;
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        auto d = domain_of(addresses[i]);
        auto it = std::find_if(out.begin(), out.end(), [&](auto& g) { return g.first == d; });
        if (it == out.end()) out.push_back({d, {i}});
        else it->second.push_back(i);
    }
    return out;
}

std::chrono::seconds retry_delay(std::uint32_t attempts, std::chrono::seconds initial, std::chrono::seconds max) {
    if (attempts == 0) attempts = 1;
    auto d = initial;
    for (std::uint32_t i = 1; i < attempts && d < max; ++i) d *= 2;
    return std::min(d, max);
}

bool is_ip_literal(std::string_view host) {
    std::string h(host);
    unsigned char buf[16];
    return ::inet_pton(AF_INET, h.c_str(), buf) == 1 || ::inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

bool parse_host_port(std::string_view text, std::string& host, std::uint16_t& port, std::uint16_t default_port) {
    port = default_port;
    std::string_view h = text, p;
    if (!text.empty() && text[0] == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) return false;
        h = text.substr(1, close - 1);
        auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest[0] != ':') return false;
            p = rest.substr(1);
        }
    } else if (auto colon = text.rfind(':'); colon != std::string_view::npos && text.find(':') == colon) {
        h = text.substr(0, colon);
        p = text.substr(colon + 1);
    }
    if (h.empty()) return false;
    if (!p.empty() || (text.size() && text.back() == ':')) {
        unsigned v = 0;
        if (p.empty() || p.size() > 5) return false;
        for (char c : p) {
            if (c < '0' || c > '9') return false;
            v = v * 10 + static_cast<unsigned>(c - '0');
        }
        if (v == 0 || v > 65535) return false;
        port = static_cast<std::uint16_t>(v);
    }
    host = std::string(h);
    return true;
}

}  // namespace roost::outbound
