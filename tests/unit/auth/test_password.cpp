#include "common/auth/password.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using roost::auth::Argon2Params;
using roost::auth::hash_password;
using roost::auth::kMaxPasswordBytes;
using roost::auth::needs_rehash;
using roost::auth::verify_password;

namespace {

// Cheap parameters keep the suite fast; production defaults are exercised once.
constexpr Argon2Params kCheap{.t_cost = 1, .m_cost_kib = 1024, .parallelism = 1};

// Generated with libargon2: argon2{i,id}_hash_encoded(t=1, m=1024, p=1, "secret", salt="somesaltsomesalt", 32).
constexpr std::string_view kArgon2iSecret =
    "$argon2i$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$+M1oGl7YLnjX2lh2gSMnSPTxQ+Rjhoj/sPOfvFWaiak";
constexpr std::string_view kArgon2idSecret =
    "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$cWb/zc7e/m86A+v9ffaqZ73LImS6yAGh/PgxMRCku8o";
// openssl passwd -6 -salt saltsalt secret
constexpr std::string_view kSha512Secret =
    "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1";
// python3: crypt.crypt('secret', '$6$rounds=10000$saltsalt')
constexpr std::string_view kSha512RoundsSecret =
    "$6$rounds=10000$saltsalt$WowrPBpEDVlCoruBosYlrZycTCx3//TyDHYqEhX9DUHHt0XTztUqzQDDUuvUGRA8aUe9p55hcAxeGcu58sm3u.";
// python3: crypt.crypt('secret', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
constexpr std::string_view kBcrypt2bSecret = "$2b$04$QrDjYTfUQ7CN1ztvFyUhCO5jlwhPsM8KyejY9D7vEyrKjO5wVZnMq";
constexpr std::string_view kBcrypt2ySecret = "$2y$04$QrDjYTfUQ7CN1ztvFyUhCO5jlwhPsM8KyejY9D7vEyrKjO5wVZnMq";
constexpr std::string_view kBcrypt2aSecret = "$2a$04$QrDjYTfUQ7CN1ztvFyUhCO5jlwhPsM8KyejY9D7vEyrKjO5wVZnMq";

std::string cat(std::string_view a, std::string_view b) { return std::string(a) + std::string(b); }

TEST(Password, HashHasPhcFormatWithRequestedParams) {
  const auto h = hash_password("secret", kCheap);
  EXPECT_TRUE(h.starts_with("$argon2id$v=19$m=1024,t=1,p=1$")) << h;
  // 16-byte salt → 22 unpadded base64 chars; 32-byte tag → 43.
  const auto salt_start = std::string_view("$argon2id$v=19$m=1024,t=1,p=1$").size();
  const auto salt_end = h.find('$', salt_start);
  ASSERT_NE(salt_end, std::string::npos);
  EXPECT_EQ(salt_end - salt_start, 22U);
  EXPECT_EQ(h.size() - salt_end - 1, 43U);
  EXPECT_EQ(h.find('='), h.find("=19"));  // only the "v=", "m=", ... separators; no padding
}

TEST(Password, DefaultParamsMatchSpec) {
  const auto h = hash_password("secret");
  EXPECT_TRUE(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << h;
  EXPECT_TRUE(verify_password("secret", h));
  EXPECT_FALSE(needs_rehash(h, Argon2Params{}));
}

TEST(Password, Argon2RoundTripAndWrongPassword) {
  const auto h = hash_password("correct horse", kCheap);
  EXPECT_TRUE(verify_password("correct horse", h));
  EXPECT_FALSE(verify_password("correct hors", h));
  EXPECT_FALSE(verify_password("correct horse ", h));
  EXPECT_FALSE(verify_password("", h));
}

TEST(Password, SaltIsRandom) {
  EXPECT_NE(hash_password("secret", kCheap), hash_password("secret", kCheap));
}

TEST(Password, EmptyAndBinaryPasswordsRoundTrip) {
  const auto empty = hash_password("", kCheap);
  EXPECT_TRUE(verify_password("", empty));
  EXPECT_FALSE(verify_password("x", empty));
  const std::string binary("a\0b\xff", 4);
  const auto h = hash_password(binary, kCheap);
  EXPECT_TRUE(verify_password(binary, h));
  EXPECT_FALSE(verify_password("a", h));
}

TEST(Password, TamperedArgon2HashIsRejected) {
  auto h = hash_password("secret", kCheap);
  ASSERT_TRUE(verify_password("secret", h));
  auto flip_at = [](std::string s, std::size_t pos) {
    s[pos] = s[pos] == 'A' ? 'B' : 'A';
    return s;
  };
  EXPECT_FALSE(verify_password("secret", flip_at(h, h.size() - 2)));  // tag
  EXPECT_FALSE(verify_password("secret", flip_at(h, h.find("p=1$") + 5)));  // salt
  auto other_params = h;
  other_params.replace(other_params.find("t=1"), 3, "t=2");
  EXPECT_FALSE(verify_password("secret", other_params));
  EXPECT_FALSE(verify_password("secret", h.substr(0, h.size() - 1)));
  EXPECT_FALSE(verify_password("secret", h + "A"));
  auto as_argon2i = h;
  as_argon2i.replace(0, 9, "$argon2i");
  EXPECT_FALSE(verify_password("secret", as_argon2i));
}

TEST(Password, KnownArgon2Vectors) {
  EXPECT_TRUE(verify_password("secret", kArgon2iSecret));
  EXPECT_FALSE(verify_password("Secret", kArgon2iSecret));
  EXPECT_TRUE(verify_password("secret", kArgon2idSecret));
  EXPECT_FALSE(verify_password("secreT", kArgon2idSecret));
}

TEST(Password, Sha512CryptVectors) {
  EXPECT_TRUE(verify_password("secret", kSha512Secret));
  EXPECT_FALSE(verify_password("secret2", kSha512Secret));
  EXPECT_FALSE(verify_password("", kSha512Secret));
  EXPECT_TRUE(verify_password("secret", kSha512RoundsSecret));
  EXPECT_FALSE(verify_password("Secret", kSha512RoundsSecret));
}

TEST(Password, BcryptVectors) {
  EXPECT_TRUE(verify_password("secret", kBcrypt2bSecret));
  EXPECT_TRUE(verify_password("secret", kBcrypt2ySecret));
  EXPECT_TRUE(verify_password("secret", kBcrypt2aSecret));
  EXPECT_FALSE(verify_password("secret!", kBcrypt2bSecret));
  EXPECT_FALSE(verify_password("secre", kBcrypt2ySecret));
  auto tampered = std::string(kBcrypt2ySecret);
  tampered.back() = tampered.back() == 'q' ? 'r' : 'q';
  EXPECT_FALSE(verify_password("secret", tampered));
}

TEST(Password, DovecotPrefixes) {
  EXPECT_TRUE(verify_password("secret", cat("{ARGON2ID}", kArgon2idSecret)));
  EXPECT_TRUE(verify_password("secret", cat("{ARGON2I}", kArgon2iSecret)));
  EXPECT_TRUE(verify_password("secret", cat("{SHA512-CRYPT}", kSha512Secret)));
  EXPECT_TRUE(verify_password("secret", cat("{BLF-CRYPT}", kBcrypt2ySecret)));
  EXPECT_TRUE(verify_password("secret", cat("{CRYPT}", kSha512Secret)));
  EXPECT_TRUE(verify_password("secret", cat("{CRYPT}", kBcrypt2bSecret)));
  EXPECT_TRUE(verify_password("secret", cat("{sha512-crypt}", kSha512Secret)));  // scheme names are case-insensitive
  EXPECT_FALSE(verify_password("wrong", cat("{SHA512-CRYPT}", kSha512Secret)));
  EXPECT_FALSE(verify_password("wrong", cat("{BLF-CRYPT}", kBcrypt2ySecret)));
}

TEST(Password, PrefixMustMatchHash) {
  EXPECT_FALSE(verify_password("secret", cat("{BLF-CRYPT}", kSha512Secret)));
  EXPECT_FALSE(verify_password("secret", cat("{SHA512-CRYPT}", kBcrypt2ySecret)));
  EXPECT_FALSE(verify_password("secret", cat("{ARGON2I}", kArgon2idSecret)));
  EXPECT_FALSE(verify_password("secret", cat("{ARGON2ID}", kArgon2iSecret)));
  EXPECT_FALSE(verify_password("secret", cat("{CRYPT}", kArgon2idSecret)));
  EXPECT_FALSE(verify_password("secret", cat("{}", kSha512Secret)));
  EXPECT_FALSE(verify_password("secret", cat("{SHA512-CRYPT", kSha512Secret)));
}

TEST(Password, WeakAndUnknownSchemesAreRejected) {
  // openssl passwd -1 -salt saltsalt secret
  constexpr std::string_view kMd5Crypt = "$1$saltsalt$9xy1btjgzLYfb7hivXtC//";
  EXPECT_FALSE(verify_password("secret", kMd5Crypt));
  EXPECT_FALSE(verify_password("secret", cat("{CRYPT}", kMd5Crypt)));
  EXPECT_FALSE(verify_password("secret", "secret"));
  EXPECT_FALSE(verify_password("secret", "{PLAIN}secret"));
  EXPECT_FALSE(verify_password("secret", "{CLEARTEXT}secret"));
  EXPECT_FALSE(verify_password("secret", "saHW9GdxihkGQ"));  // traditional DES crypt
  EXPECT_FALSE(verify_password("secret", "$5$saltsalt$abc"));
  EXPECT_FALSE(verify_password("secret", "$argon2d$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$abc"));
  EXPECT_FALSE(verify_password("", ""));
  EXPECT_FALSE(verify_password("secret", ""));
  EXPECT_FALSE(verify_password("secret", "$"));
  EXPECT_FALSE(verify_password("secret", "$2y$"));
  EXPECT_FALSE(verify_password("secret", "$6$"));
  EXPECT_FALSE(verify_password("secret", "$argon2id$"));
}

TEST(Password, AbsurdCostsAreRejectedWithoutWork) {
  // Each of these would take minutes or gigabytes if attempted.
  EXPECT_FALSE(verify_password("secret", "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$"
                                         "cWb/zc7e/m86A+v9ffaqZ73LImS6yAGh/PgxMRCku8o"));
  EXPECT_FALSE(verify_password("secret", "$argon2id$v=19$m=1024,t=100000,p=1$c29tZXNhbHRzb21lc2FsdA$"
                                         "cWb/zc7e/m86A+v9ffaqZ73LImS6yAGh/PgxMRCku8o"));
  EXPECT_FALSE(verify_password("secret", "$2y$31$QrDjYTfUQ7CN1ztvFyUhCO5jlwhPsM8KyejY9D7vEyrKjO5wVZnMq"));
  EXPECT_FALSE(verify_password("secret", "$6$rounds=999999999$saltsalt$WowrPBpEDVlCoruBosYlrZycTCx3//TyDHYqEhX9"
                                         "DUHHt0XTztUqzQDDUuvUGRA8aUe9p55hcAxeGcu58sm3u."));
}

TEST(Password, OversizedPasswordIsRejected) {
  const std::string huge(kMaxPasswordBytes + 1, 'a');
  EXPECT_FALSE(verify_password(huge, kSha512Secret));
  EXPECT_THROW((void)hash_password(huge, kCheap), std::length_error);
  const std::string max(kMaxPasswordBytes, 'a');
  EXPECT_TRUE(verify_password(max, hash_password(max, kCheap)));
}

TEST(Password, EmbeddedNulNeverMatchesCryptHashes) {
  // crypt(3) would see only "secret" if handed a C string.
  EXPECT_FALSE(verify_password(std::string_view("secret\0junk", 11), kSha512Secret));
  EXPECT_FALSE(verify_password(std::string_view("secret\0junk", 11), kBcrypt2ySecret));
}

TEST(Password, InvalidParamsThrowFromHash) {
  EXPECT_THROW((void)hash_password("x", Argon2Params{.t_cost = 0, .m_cost_kib = 1024, .parallelism = 1}),
               std::invalid_argument);
}

TEST(Password, NeedsRehash) {
  const auto cheap = hash_password("secret", kCheap);
  EXPECT_FALSE(needs_rehash(cheap, kCheap));
  EXPECT_FALSE(needs_rehash("{ARGON2ID}" + cheap, kCheap));
  EXPECT_TRUE(needs_rehash(cheap, Argon2Params{}));
  EXPECT_TRUE(needs_rehash(cheap, Argon2Params{.t_cost = 2, .m_cost_kib = 1024, .parallelism = 1}));
  EXPECT_TRUE(needs_rehash(cheap, Argon2Params{.t_cost = 1, .m_cost_kib = 2048, .parallelism = 1}));
  EXPECT_TRUE(needs_rehash(cheap, Argon2Params{.t_cost = 1, .m_cost_kib = 1024, .parallelism = 2}));
  EXPECT_TRUE(needs_rehash(kArgon2iSecret, kCheap));  // same params, wrong variant
  EXPECT_TRUE(needs_rehash(kSha512Secret, kCheap));
  EXPECT_TRUE(needs_rehash(kBcrypt2ySecret, kCheap));
  EXPECT_TRUE(needs_rehash("{SHA512-CRYPT}" + std::string(kSha512Secret), kCheap));
  EXPECT_TRUE(needs_rehash("$argon2id$v=16$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$abc", kCheap));
  EXPECT_TRUE(needs_rehash("garbage", kCheap));
  EXPECT_TRUE(needs_rehash("", kCheap));
}

TEST(Password, ConcurrentVerificationIsThreadSafe) {
  const auto argon = hash_password("secret", kCheap);
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (std::size_t i = 0; i < ok.size(); ++i) {
    threads.emplace_back([&, i] {
      bool all = true;
      for (int n = 0; n < 5; ++n) {
        all = all && verify_password("secret", kSha512Secret) && verify_password("secret", kBcrypt2ySecret) &&
              verify_password("secret", argon) && !verify_password("nope", kSha512Secret);
      }
      ok[i] = all ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  for (const int v : ok) EXPECT_EQ(v, 1);
}

}  // namespace
