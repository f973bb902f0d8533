#include "smtpd/outbound/dkim.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <map>

#include "common/mail/header.hpp"
#include "common/util/base64.hpp"

namespace roost::outbound {
namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct BioFree {
    void operator()(BIO* p) const { BIO_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

bool wsp(char c) { return c == ' ' || c == '\t'; }

std::string sha256(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    return std::string(reinterpret_cast<char*>(md), len);
}

Pkey load_private_key(std::string_view pem) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return nullptr;
    return Pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

bool is_ed25519(std::string_view algorithm) { return algorithm == "ed25519-sha256" || algorithm == "ed25519"; }

// RFC 6376 §3.7 / RFC 8463 §3: rsa-sha256 signs the data with RSASSA-PKCS1-v1_5 over SHA-256; ed25519-sha256
// signs the SHA-256 hash of the data with PureEd25519.
std::optional<std::string> sign(EVP_PKEY* key, std::string_view algorithm, std::string_view data) {
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    if (!ctx) return std::nullopt;
    std::string input;
    const EVP_MD* md = nullptr;
    if (is_ed25519(algorithm)) {
        if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) return std::nullopt;
        input = sha256(data);
    } else {
        if (EVP_PKEY_get_id(key) != EVP_PKEY_RSA) return std::nullopt;
        input.assign(data);
        md = EVP_sha256();
    }
    if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key) != 1) return std::nullopt;
    std::size_t len = 0;
    auto in = reinterpret_cast<const unsigned char*>(input.data());
    if (EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) != 1) return std::nullopt;
    std::string sig(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size()) != 1)
        return std::nullopt;
    sig.resize(len);
    return sig;
}

std::optional<std::string> public_key_value(EVP_PKEY* key, std::string_view algorithm) {
    if (is_ed25519(algorithm)) {
        // RFC 8463 §4: p= is the raw 32-octet public key, base64.
        unsigned char raw[64];
        std::size_t len = sizeof raw;
        if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1) return std::nullopt;
        return "v=DKIM1; k=ed25519; p=" + base64_encode(std::string_view(reinterpret_cast<char*>(raw), len));
    }
    // RFC 6376 §3.6.1: p= is the DER SubjectPublicKeyInfo, base64.
    unsigned char* der = nullptr;
    int len = i2d_PUBKEY(key, &der);
    if (len <= 0) return std::nullopt;
    std::string v = "v=DKIM1; k=rsa; p=" + base64_encode(std::string_view(reinterpret_cast<char*>(der), len));
    OPENSSL_free(der);
    return v;
}

}  // namespace

std::string relaxed_header(std::string_view name, std::string_view value) {
    std::string out = mail::to_lower(name);
    while (!out.empty() && wsp(out.back())) out.pop_back();
    out += ':';
    std::string v;
    bool space = false;
    for (char c : value) {
        if (c == '\r' || c == '\n') continue;  // unfold
        if (wsp(c)) {
            space = true;
            continue;
        }
        if (space && !v.empty()) v += ' ';
        space = false;
        v += c;
    }
    out += v;
    out += "\r\n";
    return out;
}

std::string relaxed_body(std::string_view body) {
    std::string out;
    out.reserve(body.size());
    std::size_t pos = 0;
    std::size_t pending_empty = 0;  // empty lines held back until a non-empty one follows
    while (pos < body.size()) {
        auto lf = body.find('\n', pos);
        std::string_view line = body.substr(pos, lf == std::string_view::npos ? std::string_view::npos : lf - pos);
        pos = lf == std::string_view::npos ? body.size() : lf + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        std::string l;
        bool space = false;
        for (char c : line) {
            if (wsp(c)) {
                space = true;
                continue;
            }
            if (space) l += ' ';
            space = false;
            l += c;
        }
        if (l.empty()) {
            ++pending_empty;
            continue;
        }
        for (; pending_empty; --pending_empty) out += "\r\n";
        out += l;
        out += "\r\n";
    }
    return out;
}

const std::vector<std::string>& signed_header_names() {
    static const std::vector<std::string> names = {
        "from", "sender", "reply-to", "subject", "date", "message-id", "to", "cc", "mime-version",
        "content-type", "content-transfer-encoding", "content-id", "content-description", "in-reply-to",
        "references", "resent-date", "resent-from", "resent-sender", "resent-to", "resent-cc",
        "resent-message-id", "list-id", "list-help", "list-unsubscribe", "list-subscribe", "list-post",
        "list-owner", "list-archive", "list-unsubscribe-post"};
    return names;
}

std::string from_domain(std::string_view message) {
    auto fields = mail::split_header_fields(message);
    auto f = mail::find_field(fields, "from");
    if (!f) return {};
    // The first addr-spec: inside <...> when there are angle brackets, else the bare value.
    std::string v = mail::unfold(f->value);
    auto lt = v.find('<');
    std::string addr;
    if (lt != std::string::npos) {
        auto gt = v.find('>', lt);
        addr = v.substr(lt + 1, gt == std::string::npos ? std::string::npos : gt - lt - 1);
    } else {
        addr = v;
        auto comma = addr.find(',');
        if (comma != std::string::npos) addr.resize(comma);
    }
    auto at = addr.rfind('@');
    if (at == std::string::npos) return {};
    std::string d;
    for (char c : addr.substr(at + 1)) {
        if (wsp(c) || c == '>' || c == '(' || c == ')' || c == ';') break;
        d += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return d;
}

std::string dkim_sign(std::string_view message, const std::vector<SigningKey>& keys, std::int64_t now,
                      std::string& error) {
    // Split at the blank line (RFC 5322 §2.1); a message without one has an empty body.
    std::size_t body_at = message.size();
    std::string_view header = message;
    if (message.starts_with("\r\n")) {
        header = {};
        body_at = 2;
    } else if (auto p = message.find("\r\n\r\n"); p != std::string_view::npos) {
        header = message.substr(0, p + 2);
        body_at = p + 4;
    }
    auto body = body_at <= message.size() ? message.substr(body_at) : std::string_view{};
    auto bh = base64_encode(sha256(relaxed_body(body)));

    auto fields = mail::split_header_fields(header);
    // h=: every present instance of the signed names (bottom-up selection, RFC 6376 §5.4.2), From once more.
    std::vector<std::string> h;
    for (auto& name : signed_header_names()) {
        std::size_t n = 0;
        for (auto& f : fields)
            if (mail::iequals(f.name, name)) ++n;
        for (std::size_t i = 0; i < n; ++i) h.push_back(name);
        if (name == "from") h.push_back(name);
    }
    std::string canonical;
    std::map<std::string, std::size_t> used;
    for (auto& name : h) {
        std::size_t skip = used[name]++;
        for (auto it = fields.rbegin(); it != fields.rend(); ++it) {
            if (!mail::iequals(it->name, name)) continue;
            if (skip-- == 0) {
                canonical += relaxed_header(it->name, it->value);
                break;
            }
        }
        // A name listed more often than it occurs contributes nothing (RFC 6376 §5.4.2).
    }
    std::string hlist;
    for (std::size_t i = 0; i < h.size(); ++i) hlist += (i ? ":" : "") + h[i];

    std::string out;
    for (auto& k : keys) {
        auto key = load_private_key(k.private_key_pem);
        if (!key) {
            error = "cannot read the DKIM key " + k.selector + "._domainkey." + k.domain;
            return {};
        }
        std::string value = " v=1; a=" + k.algorithm + "; c=relaxed/relaxed; d=" + k.domain + "; s=" + k.selector +
                            ";\r\n\tt=" + std::to_string(now) + "; h=" + hlist + ";\r\n\tbh=" + bh + ";\r\n\tb=";
        // RFC 6376 §3.7: the header hash covers the signed fields, then this field with an empty b=, without
        // its final CRLF.
        auto self = relaxed_header("DKIM-Signature", value);
        self.resize(self.size() - 2);
        auto sig = sign(key.get(), k.algorithm, canonical + self);
        if (!sig) {
            error = "cannot sign with the DKIM key " + k.selector + "._domainkey." + k.domain + " (" + k.algorithm + ")";
            return {};
        }
        out += "DKIM-Signature:" + value + base64_encode(*sig) + "\r\n";
    }
    return out;
}

std::optional<GeneratedKey> generate_dkim_key(std::string_view algorithm, std::string& error) {
    Pkey key(is_ed25519(algorithm) ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                                   : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048)));
    if (!key) {
        error = "key generation failed";
        return std::nullopt;
    }
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        error = "cannot write the private key";
        return std::nullopt;
    }
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    GeneratedKey g;
    g.private_key_pem.assign(data, static_cast<std::size_t>(len));
    auto dns = public_key_value(key.get(), algorithm);
    if (!dns) {
        error = "cannot encode the public key";
        return std::nullopt;
    }
    g.dns_value = *dns;
    return g;
}

std::optional<std::string> dkim_dns_value(std::string_view private_key_pem, std::string_view algorithm,
                                          std::string& error) {
    auto key = load_private_key(private_key_pem);
    if (!key) {
        error = "cannot read the private key";
        return std::nullopt;
    }
    auto v = public_key_value(key.get(), algorithm);
    if (!v) error = "cannot encode the public key";
    return v;
}

std::string dkim_txt_record(std::string_view selector, std::string_view domain, std::string_view value) {
    std::string out = std::string(selector) + "._domainkey." + std::string(domain) + ". IN TXT (";
    for (std::size_t i = 0; i < value.size(); i += 255) out += " \"" + std::string(value.substr(i, 255)) + "\"";
    return out + " )";
}

}  // namespace roost::outbound
