#include "storage/resolver.hpp"

#include <algorithm>
#include <deque>
#include <set>

#include "storage/address.hpp"

namespace roost::store {
namespace {

bool is_local_domain(MailStore& store, std::string_view domain) { return store.find_domain(domain).ok(); }

Result<std::int64_t> postmaster_target(MailStore& store, const ResolveOptions& opt) {
    if (!opt.postmaster_account.empty()) {
        auto a = store.find_account(opt.postmaster_account);
        if (a) return a->id;
    }
    auto all = store.list_accounts();
    if (!all) return all.error();
    if (all->empty()) return make_error(Errc::NotFound, "no account to receive postmaster mail");
    auto oldest = std::min_element(all->begin(), all->end(), [](auto& a, auto& b) { return a.id < b.id; });
    return oldest->id;
}

}  // namespace

Result<Recipient> resolve_recipient(MailStore& store, std::string_view address, const ResolveOptions& opt) {
    Recipient out;
    std::string addr;
    bool bare_postmaster = false;
    {
        std::string lowered(address);
        std::transform(lowered.begin(), lowered.end(), lowered.begin(), [](unsigned char c) { return std::tolower(c); });
        if (lowered == "postmaster") bare_postmaster = true;  // RFC 5321 §4.1.1.3
        else {
            auto n = normalize_address(address);
            if (!n) return make_error(Errc::Invalid, "invalid address");
            addr = *n;
        }
    }
    if (bare_postmaster) {
        auto id = postmaster_target(store, opt);
        if (!id) return id.error();
        out.kind = Recipient::Kind::Local;
        out.account_ids.push_back(id.value());
        return out;
    }

    auto parts = split_address(addr);
    if (!is_local_domain(store, parts.domain)) {
        out.kind = Recipient::Kind::NotLocal;
        return out;
    }

    std::set<std::string> visited;
    std::set<std::int64_t> accounts;
    bool disabled = false, unknown = false;
    std::deque<std::pair<std::string, unsigned>> work{{addr, 0}};
    while (!work.empty()) {
        auto [a, d] = work.front();
        const unsigned depth = d;  // C++20 lambdas cannot capture structured bindings portably (clang 14)
        work.pop_front();
        if (!visited.insert(a).second) continue;  // loop-safe: each address expands once
        if (visited.size() > opt.max_targets) break;
        auto p = split_address(a);
        if (!is_local_domain(store, p.domain)) {
            out.remote_targets.push_back(a);
            continue;
        }
        auto expand = [&](const std::string& key) -> bool {
            auto t = store.alias_targets(key);
            if (!t || t->empty()) return false;
            if (depth + 1 > opt.max_depth) return true;  // too deep: drop this branch, like a loop
            for (auto& target : *t) work.emplace_back(target, depth + 1);
            return true;
        };
        auto try_account = [&](const std::string& key) -> bool {
            auto acc = store.find_account(key);
            if (!acc) return false;
            if (!acc->enabled) disabled = true;
            else accounts.insert(acc->id);
            return true;
        };
        // Exact account, then alias, then plus-address (user+tag → user), then catch-all.
        if (try_account(a) || expand(a)) continue;
        if (auto plus = p.local.find(opt.plus_separator); plus != std::string::npos && plus > 0) {
            auto base = p.local.substr(0, plus) + "@" + p.domain;
            if (try_account(base) || expand(base)) continue;
        }
        if (p.local == "postmaster") {
            auto id = postmaster_target(store, opt);
            if (id) {
                accounts.insert(id.value());
                continue;
            }
        }
        if (expand("@" + p.domain)) continue;
        unknown = true;
    }

    if (!accounts.empty() || !out.remote_targets.empty()) {
        out.kind = Recipient::Kind::Local;
        out.account_ids.assign(accounts.begin(), accounts.end());
        for (auto id : out.account_ids) {
            auto acc = store.find_account_by_id(id);
            if (acc && acc->quota_bytes && acc->used_bytes >= acc->quota_bytes) {
                out.kind = Recipient::Kind::OverQuota;
                break;
            }
        }
        return out;
    }
    out.kind = disabled && !unknown ? Recipient::Kind::Disabled : Recipient::Kind::UnknownUser;
    return out;
}

}  // namespace roost::store
