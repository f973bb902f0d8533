// RFC 6376 relaxed canonicalisation (the §3.4.6 example), signatures that verify with OpenSSL against the
// DNS value `roost dkim generate` prints (rsa-sha256, and ed25519-sha256 per RFC 8463), and TXT records.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <map>

#include "common/util/base64.hpp"
#include "smtpd/outbound/dkim.hpp"

namespace roost::outbound {
namespace {

TEST(DkimCanon, Rfc6376Example) {
    // RFC 6376 §3.4.6.
    EXPECT_EQ(relaxed_header("A", " X"), "a:X\r\n");
    EXPECT_EQ(relaxed_header("B ", " Y\t\r\n\tZ  "), "b:Y Z\r\n");
    EXPECT_EQ(relaxed_body(" C \r\nD \t E\r\n\r\n\r\n"), " C\r\nD E\r\n");
}

TEST(DkimCanon, BodyEdgeCases) {
    EXPECT_EQ(relaxed_body(""), "");
    EXPECT_EQ(relaxed_body("\r\n\r\n"), "");
    EXPECT_EQ(relaxed_body("a"), "a\r\n");
    EXPECT_EQ(relaxed_body("a\r\n\r\nb  \r\n"), "a\r\n\r\nb\r\n");
}

TEST(DkimCanon, FromDomain) {
    EXPECT_EQ(from_domain("From: Alice <alice@Example.TEST>\r\nTo: b@c\r\n\r\nx"), "example.test");
    EXPECT_EQ(from_domain("From: bob@other.test\r\n\r\n"), "other.test");
    EXPECT_EQ(from_domain("To: x@y.test\r\n\r\n"), "");
}

// Splits "k=v; k2=v2" tag lists (RFC 6376 §3.2), whitespace removed.
std::map<std::string, std::string> tags(const std::string& value) {
    std::map<std::string, std::string> out;
    std::string v;
    for (char c : value)
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') v += c;
    std::size_t p = 0;
    while (p < v.size()) {
        auto semi = v.find(';', p);
        auto part = v.substr(p, semi == std::string::npos ? std::string::npos : semi - p);
        auto eq = part.find('=');
        if (eq != std::string::npos) out[part.substr(0, eq)] = part.substr(eq + 1);
        if (semi == std::string::npos) break;
        p = semi + 1;
    }
    return out;
}

std::string sha256(const std::string& d) {
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(d.data(), d.size(), md, &n, EVP_sha256(), nullptr);
    return std::string(reinterpret_cast<char*>(md), n);
}

void check_signature(const std::string& algorithm) {
    std::string error;
    auto key = generate_dkim_key(algorithm, error);
    ASSERT_TRUE(key) << error;
    const std::string message =
        "From: Alice <alice@example.test>\r\nTo: bob@remote.test\r\nSubject:  Hello\r\n\tthere\r\n"
        "X-Unsigned: yes\r\n\r\nBody  line\r\n\r\n";
    auto header = dkim_sign(message, {{"example.test", "sel", algorithm, key->private_key_pem}}, 1700000000, error);
    ASSERT_FALSE(header.empty()) << error;
    ASSERT_TRUE(header.starts_with("DKIM-Signature:"));
    auto t = tags(header.substr(15));
    EXPECT_EQ(t["v"], "1");
    EXPECT_EQ(t["a"], algorithm);
    EXPECT_EQ(t["c"], "relaxed/relaxed");
    EXPECT_EQ(t["d"], "example.test");
    EXPECT_EQ(t["s"], "sel");
    EXPECT_EQ(t["t"], "1700000000");
    EXPECT_EQ(t["h"], "from:from:subject:to");  // From over-signed, X-Unsigned left out
    EXPECT_EQ(t["bh"], base64_encode(sha256("Body line\r\n")));

    // The data signed (RFC 6376 §3.7), rebuilt here: the signed fields, then the signature field with b= empty.
    std::string data = "from:Alice <alice@example.test>\r\nsubject:Hello there\r\nto:bob@remote.test\r\n";
    auto b = header.find("b=", header.find("bh=") + 3);
    auto unsigned_field = header.substr(0, b + 2);
    data += relaxed_header("dkim-signature", unsigned_field.substr(15));
    data.resize(data.size() - 2);
    auto sig = base64_decode(t["b"]);
    ASSERT_TRUE(sig);

    // The public key exactly as published (p= of the DNS value).
    auto p = tags(key->dns_value)["p"];
    auto raw = base64_decode(p);
    ASSERT_TRUE(raw);
    EVP_PKEY* pub = nullptr;
    std::string input = data;
    const EVP_MD* md = EVP_sha256();
    if (algorithm == "ed25519-sha256") {
        EXPECT_EQ(tags(key->dns_value)["k"], "ed25519");
        pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                          reinterpret_cast<const unsigned char*>(raw->data()), raw->size());
        input = sha256(data);  // RFC 8463 §3: Ed25519 over the SHA-256 hash
        md = nullptr;
    } else {
        EXPECT_EQ(tags(key->dns_value)["k"], "rsa");
        auto q = reinterpret_cast<const unsigned char*>(raw->data());
        pub = d2i_PUBKEY(nullptr, &q, static_cast<long>(raw->size()));
        EXPECT_EQ(EVP_PKEY_get_bits(pub), 2048);
    }
    ASSERT_NE(pub, nullptr);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ASSERT_EQ(EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, pub), 1);
    EXPECT_EQ(EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                               reinterpret_cast<const unsigned char*>(input.data()), input.size()),
              1);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pub);
}

TEST(DkimSign, RsaSha256VerifiesWithThePublishedKey) { check_signature("rsa-sha256"); }
TEST(DkimSign, Ed25519Sha256VerifiesWithThePublishedKey) { check_signature("ed25519-sha256"); }

TEST(DkimSign, BadKeyIsAnError) {
    std::string error;
    auto h = dkim_sign("From: a@b.test\r\n\r\n", {{"b.test", "s", "rsa-sha256", "not a key"}}, 0, error);
    EXPECT_TRUE(h.empty());
    EXPECT_NE(error.find("s._domainkey.b.test"), std::string::npos);
}

TEST(DkimTxt, SplitsLongValuesInto255OctetStrings) {
    std::string value(600, 'x');
    auto rec = dkim_txt_record("roost", "example.test", value);
    EXPECT_TRUE(rec.starts_with("roost._domainkey.example.test. IN TXT ( \""));
    EXPECT_NE(rec.find("\" \""), std::string::npos);
    EXPECT_EQ(rec.find(std::string(256, 'x')), std::string::npos);
}

}  // namespace
}  // namespace roost::outbound
