// DKIM key management shared by `roost dkim generate|list|remove` and the admin API's
// POST/DELETE /domains/{name}/dkim: one implementation of key creation (with selector choice for rotation)
// over the MailStore interface. Key material comes from dkim.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/mail_store.hpp"

namespace roost::outbound {

// "rsa" / "rsa-sha256" / "" → "rsa-sha256", "ed25519" / "ed25519-sha256" → "ed25519-sha256"; nullopt otherwise.
std::optional<std::string> dkim_algorithm(std::string_view name);

// RFC 6376 §3.1: a selector is one or more dot-separated labels of letters, digits and inner hyphens.
bool valid_dkim_selector(std::string_view selector);

struct CreatedDkimKey {
    std::string domain;
    std::string selector;
    std::string algorithm;
    std::string dns_name;    // SEL._domainkey.DOMAIN. (owner name of the TXT record)
    std::string dns_value;   // "v=DKIM1; k=...; p=..." (RFC 6376 §3.6.1)
    std::string txt_record;  // the zone-file line (dkim_txt_record)
};

// Creates a signing key for `domain` (a domain of this server: NotFound otherwise) and stores it.
// An empty `selector` picks "roost" (RSA) or "roosted" (Ed25519) when free, else that name with today's
// date (UTC) and, if needed, a counter: "roost-20250131", "roost-20250131-2". That is rotation: the older
// keys stay and keep signing (a verifier needs only one good signature, RFC 6376 §4.2) until they are
// removed once the new record is published. Invalid for an unknown algorithm or a malformed selector,
// AlreadyExists for a selector the domain already has.
store::Result<CreatedDkimKey> create_dkim_key(store::MailStore& store, std::string_view domain,
                                              std::string_view algorithm, std::string selector, std::int64_t now);

}  // namespace roost::outbound
