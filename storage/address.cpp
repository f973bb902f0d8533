#include "storage/address.hpp"

#include <algorithm>
#include <cctype>

namespace roost::store {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

// RFC 5322 §3.2.3 atext, plus any UTF-8 octet (RFC 6531 §3.3).
bool atext(unsigned char c) {
    if (std::isalnum(c) || c >= 0x80) return true;
    return std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) != std::string_view::npos;
}

}  // namespace

std::optional<std::string> normalize_domain(std::string_view domain) {
    if (domain.empty() || domain.size() > 253) return std::nullopt;
    std::string d = lower(domain);
    std::size_t labels = 0, start = 0;
    while (start <= d.size()) {
        auto dot = d.find('.', start);
        auto end = dot == std::string::npos ? d.size() : dot;
        auto label = std::string_view(d).substr(start, end - start);
        // RFC 1035 §2.3.1 LDH labels (A-labels for IDNs), 1..63 octets, no leading or trailing hyphen.
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return std::nullopt;
        for (unsigned char c : label)
            if (!std::isalnum(c) && c != '-') return std::nullopt;
        ++labels;
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    if (labels < 2) return std::nullopt;
    return d;
}

std::optional<std::string> normalize_address(std::string_view address) {
    auto at = address.rfind('@');
    if (at == std::string_view::npos || at == 0) return std::nullopt;
    auto local = address.substr(0, at);
    if (local.size() > 64) return std::nullopt;  // RFC 5321 §4.5.3.1.1
    if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) return std::nullopt;
    for (unsigned char c : local)
        if (c != '.' && !atext(c)) return std::nullopt;
    auto domain = normalize_domain(address.substr(at + 1));
    if (!domain) return std::nullopt;
    return lower(local) + "@" + *domain;
}

std::optional<std::string> normalize_alias_source(std::string_view source) {
    if (source.starts_with('@')) {
        auto d = normalize_domain(source.substr(1));
        if (!d) return std::nullopt;
        return "@" + *d;
    }
    return normalize_address(source);
}

AddressParts split_address(std::string_view normalized) {
    auto at = normalized.rfind('@');
    if (at == std::string_view::npos) return {std::string(normalized), {}};
    return {std::string(normalized.substr(0, at)), std::string(normalized.substr(at + 1))};
}

}  // namespace roost::store
