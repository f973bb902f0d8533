// DKIM signing (RFC 6376) with rsa-sha256 and ed25519-sha256 (RFC 8463), relaxed/relaxed canonicalisation
// (RFC 6376 §3.4.2, §3.4.4), and key generation for `roost dkim generate`. No I/O: keys come in as PEM.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roost::outbound {

// RFC 6376 §3.4.2: lower-case name, unfolded value with whitespace runs as one SP, none at either end.
std::string relaxed_header(std::string_view name, std::string_view value);
// RFC 6376 §3.4.4: whitespace runs as one SP, none at line ends, no empty lines at the end; a non-empty
// body ends in CRLF.
std::string relaxed_body(std::string_view body);

// The header fields signed when present (RFC 6376 §5.4.1), lower-case. "from" is also over-signed (listed
// once more than it occurs) so that no From: can be added after signing (RFC 6376 §8.15).
const std::vector<std::string>& signed_header_names();

struct SigningKey {
    std::string domain;     // d=
    std::string selector;   // s=
    std::string algorithm;  // "rsa-sha256" or "ed25519-sha256"
    std::string private_key_pem;
};

// Returns the DKIM-Signature header fields (CRLF-terminated, one per key) to put in front of `message`
// (header + blank line + body, CRLF line ends); empty with `error` set when a key cannot be used.
std::string dkim_sign(std::string_view message, const std::vector<SigningKey>& keys, std::int64_t now,
                      std::string& error);

// The domain of the first address in From: (lower-case), or empty.
std::string from_domain(std::string_view message);

struct GeneratedKey {
    std::string private_key_pem;
    std::string dns_value;  // "v=DKIM1; k=rsa; p=..." (RFC 6376 §3.6.1)
};

// "rsa-sha256" (2048-bit) or "ed25519-sha256". nullopt with `error` on failure.
std::optional<GeneratedKey> generate_dkim_key(std::string_view algorithm, std::string& error);
// The DNS value for an existing private key.
std::optional<std::string> dkim_dns_value(std::string_view private_key_pem, std::string_view algorithm,
                                          std::string& error);
// A zone-file line: `SEL._domainkey.DOMAIN. IN TXT ( "..." "..." )`, strings cut at 255 octets (RFC 1035
// §3.3.14 character-strings).
std::string dkim_txt_record(std::string_view selector, std::string_view domain, std::string_view value);

}  // namespace roost::outbound
