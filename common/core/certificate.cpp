#include "common/core/certificate.hpp"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace roost {
namespace {

void make_parent(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos || slash == 0) return;
    auto dir = path.substr(0, slash);
    ::mkdir(dir.c_str(), 0750);
}

struct FileCloser {
    void operator()(FILE* f) const { std::fclose(f); }
};

}  // namespace

void ensure_certificate(const std::string& cert_path, const std::string& key_path, const std::string& hostname) {
    // `roost up` starts every daemon at once: on a fresh data_dir they would all generate a pair and
    // overwrite each other's files, so a daemon could load a half-written file or a key from one run and
    // a certificate from another. One process generates while the others wait on this lock, and the check
    // happens under it. (No lock file possible, e.g. a read-only folder holding a configured pair: check only.)
    make_parent(key_path);
    struct LockFile {
        int fd;
        ~LockFile() {
            if (fd >= 0) ::close(fd);  // releases the flock
        }
    } lock{::open((key_path + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)};
    if (lock.fd >= 0) ::flock(lock.fd, LOCK_EX);
    if (::access(cert_path.c_str(), R_OK) == 0 && ::access(key_path.c_str(), R_OK) == 0) return;
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    if (!key) throw std::runtime_error("cannot generate a TLS key");
    std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
    X509_set_version(x.get(), 2);
    unsigned char serial[16];
    RAND_bytes(serial, sizeof serial);
    serial[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), 825L * 24 * 3600);
    X509_set_pubkey(x.get(), key.get());
    X509_NAME* name = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(hostname.c_str()), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Roost self-signed"), -1, -1, 0);
    X509_set_issuer_name(x.get(), name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
    std::string san = "DNS:" + hostname;
    if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str())) {
        X509_add_ext(x.get(), ext, -1);
        X509_EXTENSION_free(ext);
    }
    if (!X509_sign(x.get(), key.get(), EVP_sha256())) throw std::runtime_error("cannot sign the TLS certificate");

    make_parent(key_path);
    make_parent(cert_path);
    auto old = ::umask(077);
    std::unique_ptr<FILE, FileCloser> kf(std::fopen(key_path.c_str(), "w"));
    ::umask(old);
    // umask only applies to a new file: an existing (stale) key.pem keeps its mode unless we reset it.
    if (kf && ::fchmod(::fileno(kf.get()), 0600) != 0) kf.reset();
    if (!kf || !PEM_write_PrivateKey(kf.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr))
        throw std::runtime_error("cannot write TLS key '" + key_path + "'");
    std::unique_ptr<FILE, FileCloser> cf(std::fopen(cert_path.c_str(), "w"));
    if (!cf || !PEM_write_X509(cf.get(), x.get())) throw std::runtime_error("cannot write TLS certificate '" + cert_path + "'");
}

}  // namespace roost
