#include "smtpd/outbound/dkim_admin.hpp"

#include <ctime>
#include <set>

#include "smtpd/outbound/dkim.hpp"
#include "storage/address.hpp"

namespace roost::outbound {

std::optional<std::string> dkim_algorithm(std::string_view name) {
    if (name.empty() || name == "rsa" || name == "rsa-sha256") return std::string("rsa-sha256");
    if (name == "ed25519" || name == "ed25519-sha256") return std::string("ed25519-sha256");
    return std::nullopt;
}

bool valid_dkim_selector(std::string_view s) {
    if (s.empty() || s.size() > 63) return false;
    std::size_t label = 0;
    char prev = '.';
    for (char c : s) {
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (c == '.') {
            if (label == 0 || prev == '-') return false;
            label = 0;
        } else if (c == '-') {
            if (label == 0) return false;
            ++label;
        } else if (alnum) {
            ++label;
        } else {
            return false;
        }
        prev = c;
    }
    return label > 0 && prev != '-';
}

store::Result<CreatedDkimKey> create_dkim_key(store::MailStore& store, std::string_view domain,
                                              std::string_view algorithm_name, std::string selector,
                                              std::int64_t now) {
    auto algorithm = dkim_algorithm(algorithm_name);
    if (!algorithm)
        return store::make_error(store::Errc::Invalid,
                                 "unknown DKIM algorithm '" + std::string(algorithm_name) + "' (rsa or ed25519)");
    auto d = store.find_domain(domain);
    if (!d) return d.error();
    if (selector.empty()) {
        auto existing = store.dkim_keys(d->name);
        if (!existing) return existing.error();
        std::set<std::string> taken;
        for (auto& k : *existing) taken.insert(k.selector);
        std::string base = *algorithm == "rsa-sha256" ? "roost" : "roosted";
        selector = base;
        if (taken.count(selector)) {
            std::time_t t = now;
            std::tm tm{};
            gmtime_r(&t, &tm);
            char day[16];
            std::strftime(day, sizeof day, "%Y%m%d", &tm);
            selector = base + "-" + day;
            for (int n = 2; taken.count(selector); ++n) selector = base + "-" + day + "-" + std::to_string(n);
        }
    } else if (!valid_dkim_selector(selector)) {
        return store::make_error(store::Errc::Invalid, "invalid DKIM selector '" + selector +
                                                           "' (letters, digits, inner hyphens; dot-separated)");
    }
    std::string error;
    auto key = generate_dkim_key(*algorithm, error);
    if (!key) return store::make_error(store::Errc::Internal, "DKIM key generation failed: " + error);
    store::DkimKey k;
    k.domain = d->name;
    k.selector = selector;
    k.algorithm = *algorithm;
    k.private_key_pem = key->private_key_pem;
    k.created = now;
    auto st = store.add_dkim_key(k);
    if (!st) return st.error();
    CreatedDkimKey out;
    out.domain = d->name;
    out.selector = selector;
    out.algorithm = *algorithm;
    out.dns_name = selector + "._domainkey." + d->name + ".";
    out.dns_value = key->dns_value;
    out.txt_record = dkim_txt_record(selector, d->name, key->dns_value);
    return out;
}

}  // namespace roost::outbound
