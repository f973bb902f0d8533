#include "admin-ui/autoconfig.hpp"

#include <cctype>
#include <memory>

#include "common/core/endpoint.hpp"
#include "smtpd/outbound/dkim.hpp"

namespace roost::admin {
namespace {

std::string lower(std::string_view s) {
    std::string o(s);
    for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return o;
}

// The port of the first listener, or 0 when the service has none.
std::uint16_t port_of(const std::vector<std::string>& listeners) {
    for (auto& l : listeners)
        if (auto e = parse_endpoint(l)) return e->port;
    return 0;
}

struct Service {
    const char* type;    // "imap", "pop3", "smtp"
    std::uint16_t port;
    bool tls;            // implicit TLS (RFC 8314) vs STARTTLS
};

// Every listener a client may use, implicit TLS first (RFC 8314 §5.1 prefers it).
std::vector<Service> services(const Config& c) {
    std::vector<Service> v;
    auto add = [&](const char* type, const std::vector<std::string>& tls, const std::vector<std::string>& plain) {
        if (auto p = port_of(tls)) v.push_back({type, p, true});
        if (auto p = port_of(plain)) v.push_back({type, p, false});
    };
    add("imap", c.imap.listen_tls, c.imap.listen);
    add("pop3", c.pop3.listen_tls, c.pop3.listen);
    add("smtp", c.submission.listen_tls, c.submission.listen);
    return v;
}

// The address a client asks about: a query parameter (Thunderbird sends emailaddress=), or an Outlook
// request body's <EMailAddress>. Only a plausible address is echoed back.
std::string sane_address(std::string_view a) {
    if (a.size() > 254) return {};
    for (unsigned char c : a)
        if (c <= 0x20 || c == '<' || c == '>' || c == '"' || c == '&' || c == '\'' || c == 0x7f) return {};
    auto at = a.rfind('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == a.size()) return {};
    return lower(a);
}

std::string domain_of(std::string_view address) {
    auto at = address.rfind('@');
    return at == std::string_view::npos ? std::string() : std::string(address.substr(at + 1));
}

http::Response xml(std::string body, const char* type = "application/xml; charset=utf-8") {
    http::Response r;
    r.set("Content-Type", type);
    r.set("Cache-Control", "no-store");
    r.body = std::move(body);
    return r;
}

// Thunderbird autoconfig, https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat
std::string thunderbird(const Config& c, const std::string& domain) {
    std::string d = xml_escape(domain.empty() ? c.hostname : domain);
    std::string h = xml_escape(c.hostname);
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<clientConfig version=\"1.1\">\n"
                      "  <emailProvider id=\"" + d + "\">\n    <domain>" + d + "</domain>\n"
                      "    <displayName>" + d + " (Roost)</displayName>\n    <displayShortName>" + d +
                      "</displayShortName>\n";
    for (auto& s : services(c)) {
        bool incoming = std::string_view(s.type) != "smtp";
        out += std::string("    <") + (incoming ? "incomingServer" : "outgoingServer") + " type=\"" + s.type + "\">\n";
        out += "      <hostname>" + h + "</hostname>\n      <port>" + std::to_string(s.port) + "</port>\n";
        out += std::string("      <socketType>") + (s.tls ? "SSL" : "STARTTLS") + "</socketType>\n";
        out += "      <authentication>password-cleartext</authentication>\n";
        out += "      <username>%EMAILADDRESS%</username>\n";
        out += std::string("    </") + (incoming ? "incomingServer" : "outgoingServer") + ">\n";
    }
    out += "  </emailProvider>\n</clientConfig>\n";
    return out;
}

// Outlook autodiscover, POX schema (MS-OXDSCLI §2.2.4).
std::string outlook(const Config& c, const std::string& address) {
    std::string out =
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
        "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\">\n"
        "  <Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\">\n"
        "    <Account>\n      <AccountType>email</AccountType>\n      <Action>settings</Action>\n";
    for (auto& s : services(c)) {
        const char* type = std::string_view(s.type) == "imap" ? "IMAP" : std::string_view(s.type) == "pop3" ? "POP3" : "SMTP";
        out += std::string("      <Protocol>\n        <Type>") + type + "</Type>\n";
        out += "        <Server>" + xml_escape(c.hostname) + "</Server>\n";
        out += "        <Port>" + std::to_string(s.port) + "</Port>\n";
        out += "        <LoginName>" + xml_escape(address) + "</LoginName>\n";
        out += "        <SPA>off</SPA>\n";
        out += std::string("        <SSL>") + (s.tls ? "on" : "off") + "</SSL>\n";
        if (!s.tls) out += "        <Encryption>TLS</Encryption>\n";
        out += "        <AuthRequired>on</AuthRequired>\n      </Protocol>\n";
    }
    out += "    </Account>\n  </Response>\n</Autodiscover>\n";
    return out;
}

// Apple configuration profile with one com.apple.mail.managed payload (Configuration Profile Reference).
std::string mobileconfig(const Config& c, const std::string& address) {
    auto all = services(c);
    const Service* imap = nullptr;
    const Service* smtp = nullptr;
    for (auto& s : all) {
        if (!imap && std::string_view(s.type) == "imap") imap = &s;
        if (!smtp && std::string_view(s.type) == "smtp") smtp = &s;
    }
    std::string h = xml_escape(c.hostname), a = xml_escape(address);
    std::string uuid1 = "6F1B3A52-0F5E-4C1D-9A7B-" + std::string("000000000001");
    std::string uuid2 = "6F1B3A52-0F5E-4C1D-9A7B-" + std::string("000000000002");
    auto b = [](bool v) { return v ? "<true/>" : "<false/>"; };
    std::string out =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
        "<plist version=\"1.0\">\n<dict>\n"
        "  <key>PayloadContent</key>\n  <array>\n    <dict>\n"
        "      <key>EmailAccountDescription</key><string>" + a + "</string>\n"
        "      <key>EmailAccountType</key><string>EmailTypeIMAP</string>\n"
        "      <key>EmailAddress</key><string>" + a + "</string>\n"
        "      <key>IncomingMailServerAuthentication</key><string>EmailAuthPassword</string>\n"
        "      <key>IncomingMailServerHostName</key><string>" + h + "</string>\n"
        "      <key>IncomingMailServerPortNumber</key><integer>" + std::to_string(imap ? imap->port : 993) + "</integer>\n"
        "      <key>IncomingMailServerUseSSL</key>" + b(!imap || imap->tls) + "\n"
        "      <key>IncomingMailServerUsername</key><string>" + a + "</string>\n"
        "      <key>OutgoingMailServerAuthentication</key><string>EmailAuthPassword</string>\n"
        "      <key>OutgoingMailServerHostName</key><string>" + h + "</string>\n"
        "      <key>OutgoingMailServerPortNumber</key><integer>" + std::to_string(smtp ? smtp->port : 465) + "</integer>\n"
        "      <key>OutgoingMailServerUseSSL</key>" + b(!smtp || smtp->tls) + "\n"
        "      <key>OutgoingMailServerUsername</key><string>" + a + "</string>\n"
        "      <key>OutgoingPasswordSameAsIncomingPassword</key><true/>\n"
        "      <key>PayloadDisplayName</key><string>Mail (" + a + ")</string>\n"
        "      <key>PayloadIdentifier</key><string>" + h + ".roost.mail.account</string>\n"
        "      <key>PayloadType</key><string>com.apple.mail.managed</string>\n"
        "      <key>PayloadUUID</key><string>" + uuid2 + "</string>\n"
        "      <key>PayloadVersion</key><integer>1</integer>\n"
        "    </dict>\n  </array>\n"
        "  <key>PayloadDisplayName</key><string>" + h + " mail</string>\n"
        "  <key>PayloadIdentifier</key><string>" + h + ".roost.mail</string>\n"
        "  <key>PayloadType</key><string>Configuration</string>\n"
        "  <key>PayloadUUID</key><string>" + uuid1 + "</string>\n"
        "  <key>PayloadVersion</key><integer>1</integer>\n"
        "</dict>\n</plist>\n";
    return out;
}

}  // namespace

std::string xml_escape(std::string_view s) {
    std::string o;
    for (char c : s) {
        switch (c) {
            case '<': o += "&lt;"; break;
            case '>': o += "&gt;"; break;
            case '&': o += "&amp;"; break;
            case '"': o += "&quot;"; break;
            case '\'': o += "&apos;"; break;
            default: o += c;
        }
    }
    return o;
}

// TXT strings are at most 255 octets each (RFC 1035 §3.3.14): long values are split into several.
std::string dns_txt_strings(std::string_view v) {
    std::string out;
    while (true) {
        auto part = v.substr(0, 255);
        out += "\"" + std::string(part) + "\"";
        v.remove_prefix(part.size());
        if (v.empty()) break;
        out += " ";
    }
    return out;
}

std::string DnsRecord::zone_line() const { return name + " 3600 IN " + type + " " + value; }

std::optional<http::Response> client_config(const Config& config, const http::Request& req) {
    auto path = lower(req.path);
    auto param = [&](const char* name) {
        auto it = req.query.find(name);
        return it == req.query.end() ? std::string() : it->second;
    };
    if (path == "/.well-known/autoconfig/mail/config-v1.1.xml" || path == "/mail/config-v1.1.xml") {
        auto address = sane_address(param("emailaddress"));
        return xml(thunderbird(config, domain_of(address)));
    }
    if (path == "/autodiscover/autodiscover.xml") {
        // The request names the address in <EMailAddress>; answer with the same login name.
        std::string address;
        auto open = req.body.find("<EMailAddress>");
        auto close = req.body.find("</EMailAddress>");
        if (open != std::string::npos && close != std::string::npos && close > open)
            address = sane_address(req.body.substr(open + 14, close - open - 14));
        if (address.empty()) address = sane_address(param("email"));
        return xml(outlook(config, address));
    }
    if (path == "/apple/mail.mobileconfig") {
        auto address = sane_address(param("emailaddress"));
        if (address.empty()) {
            http::Response r;
            r.status = 400;
            r.set("Content-Type", "application/json");
            r.body = "{\"error\":\"add ?emailaddress=you@example.com\"}\n";
            return r;
        }
        auto r = xml(mobileconfig(config, address), "application/x-apple-aspen-config");
        r.set("Content-Disposition", "attachment; filename=\"" + domain_of(address) + ".mobileconfig\"");
        return r;
    }
    return std::nullopt;
}

std::vector<DnsRecord> dns_records(const Config& c, store::MailStore& store, const std::string& domain) {
    std::string d = domain + ".";
    std::string h = c.hostname + ".";
    std::vector<DnsRecord> v;
    v.push_back({"MX", d, "MX", "10 " + h});
    v.push_back({"SPF", d, "TXT", dns_txt_strings("v=spf1 mx -all")});
    auto keys = store.dkim_keys(domain);
    if (keys) {
        for (auto& k : *keys) {
            // The same public-key value `roost dkim generate|list` prints (smtpd/outbound/dkim).
            std::string error;
            auto value = outbound::dkim_dns_value(k.private_key_pem, k.algorithm, error);
            if (!value) continue;
            v.push_back({"DKIM", k.selector + "._domainkey." + d, "TXT", dns_txt_strings(*value)});
        }
    }
    v.push_back({"DMARC", "_dmarc." + d, "TXT", dns_txt_strings("v=DMARC1; p=quarantine; rua=mailto:postmaster@" + domain)});
    v.push_back({"autoconfig", "autoconfig." + d, "CNAME", h});
    v.push_back({"autodiscover", "autodiscover." + d, "CNAME", h});
    // RFC 6186 SRV records for clients that look them up (RFC 8314 §5.1: implicit TLS preferred).
    for (auto& s : services(c)) {
        std::string svc = std::string(s.type) == "smtp" ? (s.tls ? "_submissions" : "_submission")
                                                          : std::string("_") + s.type + (s.tls ? "s" : "");
        v.push_back({"SRV", svc + "._tcp." + d, "SRV", "0 1 " + std::to_string(s.port) + " " + h});
    }
    return v;
}

}  // namespace roost::admin
