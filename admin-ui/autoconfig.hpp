// What a mail client or a DNS zone needs to know about this server, generated from the real listeners in
// the configuration: Thunderbird autoconfig, Outlook autodiscover (POX), an Apple .mobileconfig profile,
// and the DNS records each domain needs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "admin-ui/http/message.hpp"
#include "common/core/config.hpp"
#include "storage/mail_store.hpp"

namespace roost::admin {

// Answers /.well-known/autoconfig/mail/config-v1.1.xml, /mail/config-v1.1.xml,
// /autodiscover/autodiscover.xml (GET and POST; also /Autodiscover/Autodiscover.xml) and
// /apple/mail.mobileconfig; nullopt for any other path. No authentication: this is public information.
std::optional<http::Response> client_config(const Config& config, const http::Request& req);

struct DnsRecord {
    std::string purpose;  // "MX", "SPF", "DKIM", "DMARC", "autoconfig", ...
    std::string name;     // owner name, fully qualified with the trailing dot
    std::string type;     // "MX", "TXT", "CNAME", "SRV"
    std::string value;    // RDATA in zone-file syntax
    std::string zone_line() const;  // "name 3600 IN type value"
};

// The records `domain` needs for mail to and from this server: one DKIM record per signing key the store
// holds for the domain, with its real public key; none while it has no key (never an invalid record).
std::vector<DnsRecord> dns_records(const Config& config, store::MailStore& store, const std::string& domain);

std::string xml_escape(std::string_view s);

// A TXT record's RDATA in zone-file syntax: quoted strings of at most 255 octets (RFC 1035 §3.3.14).
std::string dns_txt_strings(std::string_view value);

}  // namespace roost::admin
