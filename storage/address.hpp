// Account and domain name rules shared by the store, the CLI and the admin API.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace roost::store {

// Lower-cased LDH domain of at least two labels ("example.test"); nullopt if invalid. No trailing dot.
std::optional<std::string> normalize_domain(std::string_view domain);

// Lower-cased "local@domain" whose local part is a dot-atom (RFC 5322 §3.2.3) of at most 64 octets;
// nullopt if invalid. UTF-8 local parts (RFC 6531) are accepted.
std::optional<std::string> normalize_address(std::string_view address);

// "@domain" catch-all source or a normal address.
std::optional<std::string> normalize_alias_source(std::string_view source);

struct AddressParts {
    std::string local;
    std::string domain;
};
AddressParts split_address(std::string_view normalized);

}  // namespace roost::store
