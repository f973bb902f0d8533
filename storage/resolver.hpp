// Recipient resolution for RCPT TO: accounts, aliases (several targets, loop-safe), catch-alls,
// plus-addressing and postmaster. Built only on MailStore's interface, so every backend shares it.
#pragma once

#include <string_view>

#include "storage/mail_store.hpp"

namespace roost::store {

struct ResolveOptions {
    std::string_view postmaster_account;  // account that gets postmaster@ mail when nothing else matches
    char plus_separator = '+';
    unsigned max_depth = 8;        // alias chains longer than this are treated as loops
    unsigned max_targets = 1000;   // bounded fan-out
};

// `address` is the RCPT address (local@domain, or bare "postmaster", RFC 5321 §4.1.1.3).
Result<Recipient> resolve_recipient(MailStore& store, std::string_view address, const ResolveOptions& options);

}  // namespace roost::store
