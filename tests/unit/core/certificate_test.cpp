// Self-signed certificate generation: files, key permissions, contents, idempotence.
#include "common/core/certificate.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

using roost::ensure_certificate;
namespace fs = std::filesystem;

namespace {

class CertificateTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = ::testing::TempDir() + "roost-cert-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { fs::remove_all(dir_); }

    static std::string slurp(const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    static mode_t mode_of(const std::string& path) {
        struct stat st {};
        EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
        return st.st_mode & 07777;
    }

    std::string dir_;
};

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

X509Ptr read_cert(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) return {nullptr, X509_free};
    X509Ptr x(PEM_read_X509(f, nullptr, nullptr, nullptr), X509_free);
    std::fclose(f);
    return x;
}

KeyPtr read_key(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) return {nullptr, EVP_PKEY_free};
    KeyPtr k(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr), EVP_PKEY_free);
    std::fclose(f);
    return k;
}

TEST_F(CertificateTest, CreatesMatchingCertificateAndPrivateKey) {
    auto cert = dir_ + "/tls/cert.pem", key = dir_ + "/tls/key.pem";
    ensure_certificate(cert, key, "mail.example.test");
    ASSERT_TRUE(fs::exists(cert));
    ASSERT_TRUE(fs::exists(key));
    EXPECT_EQ(mode_of(key), 0600u) << "the private key must be readable by its owner only";

    auto x = read_cert(cert);
    ASSERT_TRUE(x) << "cert.pem is not a PEM certificate";
    auto k = read_key(key);
    ASSERT_TRUE(k) << "key.pem is not a PEM private key";
    EXPECT_EQ(X509_check_private_key(x.get(), k.get()), 1) << "key does not belong to the certificate";
    EXPECT_EQ(EVP_PKEY_get_base_id(k.get()), EVP_PKEY_EC);

    char cn[256] = {};
    ASSERT_GT(X509_NAME_get_text_by_NID(X509_get_subject_name(x.get()), NID_commonName, cn, sizeof cn), 0);
    EXPECT_STREQ(cn, "mail.example.test");
    EXPECT_EQ(X509_check_host(x.get(), "mail.example.test", 0, 0, nullptr), 1) << "subjectAltName missing";
    EXPECT_EQ(X509_check_host(x.get(), "other.example.test", 0, 0, nullptr), 0);
    // Valid now, and for a long time.
    EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(x.get())), 0);
    EXPECT_GT(X509_cmp_current_time(X509_get0_notAfter(x.get())), 0);
    int days = 0, secs = 0;
    ASSERT_EQ(ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(x.get())), 1);
    EXPECT_GT(days, 800);
    // Self-signed: verifies with its own key.
    KeyPtr pub(X509_get_pubkey(x.get()), EVP_PKEY_free);
    EXPECT_EQ(X509_verify(x.get(), pub.get()), 1);
}

TEST_F(CertificateTest, IsIdempotent) {
    auto cert = dir_ + "/cert.pem", key = dir_ + "/key.pem";
    ensure_certificate(cert, key, "mail.example.test");
    auto c1 = slurp(cert), k1 = slurp(key);
    ASSERT_FALSE(c1.empty());
    ensure_certificate(cert, key, "other.example.test");
    EXPECT_EQ(slurp(cert), c1) << "an existing certificate must not be replaced";
    EXPECT_EQ(slurp(key), k1) << "an existing key must not be replaced";
    EXPECT_EQ(mode_of(key), 0600u);
}

TEST_F(CertificateTest, RegeneratesBothWhenOneIsMissing) {
    auto cert = dir_ + "/cert.pem", key = dir_ + "/key.pem";
    ensure_certificate(cert, key, "mail.example.test");
    auto c1 = slurp(cert);
    fs::remove(key);
    ensure_certificate(cert, key, "mail.example.test");
    ASSERT_TRUE(fs::exists(key));
    EXPECT_NE(slurp(cert), c1);
    auto x = read_cert(cert);
    auto k = read_key(key);
    ASSERT_TRUE(x && k);
    EXPECT_EQ(X509_check_private_key(x.get(), k.get()), 1);
}

TEST_F(CertificateTest, ReplacedKeyFileIsMadePrivateEvenIfItWasNot) {
    // A stale world-readable key.pem without a certificate: the new private key must not inherit 0644.
    auto cert = dir_ + "/cert.pem", key = dir_ + "/key.pem";
    {
        std::ofstream f(key);
        f << "stale\n";
    }
    ::chmod(key.c_str(), 0644);
    ensure_certificate(cert, key, "mail.example.test");
    EXPECT_EQ(mode_of(key), 0600u);
    EXPECT_TRUE(read_key(key));
}

TEST_F(CertificateTest, ConcurrentFirstStartsAgreeOnOnePair) {
    // `roost up` starts every daemon at once on a fresh data_dir: each calls ensure_certificate and then
    // loads the pair. None may see a half-written file or a key from one run and a certificate from another.
    auto cert = dir_ + "/tls/cert.pem", key = dir_ + "/tls/key.pem";
    constexpr int kProcs = 8;
    int go[2];
    ASSERT_EQ(::pipe(go), 0);
    std::vector<pid_t> pids;
    for (int i = 0; i < kProcs; ++i) {
        pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::close(go[1]);
            char c;
            [[maybe_unused]] auto n = ::read(go[0], &c, 1);  // all start together
            try {
                ensure_certificate(cert, key, "mail.example.test");
            } catch (...) {
                ::_exit(2);
            }
            auto x = read_cert(cert);
            auto k = read_key(key);
            ::_exit(x && k && X509_check_private_key(x.get(), k.get()) == 1 ? 0 : 1);
        }
        pids.push_back(pid);
    }
    ::close(go[0]);
    ::close(go[1]);  // EOF releases every child at once
    for (auto pid : pids) {
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status));
        EXPECT_EQ(WEXITSTATUS(status), 0) << "a process got no usable certificate/key pair";
    }
    auto x = read_cert(cert);
    auto k = read_key(key);
    ASSERT_TRUE(x && k);
    EXPECT_EQ(X509_check_private_key(x.get(), k.get()), 1);
}

TEST_F(CertificateTest, UnwritableLocationThrowsNamingTheFile) {
    auto cert = dir_ + "/missing/deeper/cert.pem", key = dir_ + "/missing/deeper/key.pem";
    try {
        ensure_certificate(cert, key, "mail.example.test");
        FAIL() << "no error";
    } catch (const std::runtime_error& e) {
        EXPECT_THAT(e.what(), ::testing::HasSubstr("/missing/deeper/"));
    }
}

}  // namespace
