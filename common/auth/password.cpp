#include "common/auth/password.hpp"

#include <argon2.h>
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>

namespace roost::auth {
namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;

// Upper bounds on cost parameters found in stored hashes. They sit far above anything a sane
// deployment configures, but stop a corrupt or hostile row from turning one login into a DoS.
constexpr std::uint32_t kMaxArgon2MemoryKib = 1U << 20;  // 1 GiB
constexpr std::uint32_t kMaxArgon2Time = 64;
constexpr std::uint32_t kMaxArgon2Lanes = 64;
constexpr unsigned kMaxBcryptCost = 16;
constexpr unsigned long kMaxSha512Rounds = 1'000'000;
constexpr std::size_t kMaxStoredBytes = 512;

enum class Scheme { Argon2id, Argon2i, Sha512Crypt, Bcrypt };

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

std::optional<Scheme> detect(std::string_view hash) {
  if (hash.starts_with("$argon2id$")) return Scheme::Argon2id;
  if (hash.starts_with("$argon2i$")) return Scheme::Argon2i;
  if (hash.starts_with("$6$")) return Scheme::Sha512Crypt;
  if (hash.starts_with("$2y$") || hash.starts_with("$2b$") || hash.starts_with("$2a$")) return Scheme::Bcrypt;
  return std::nullopt;
}

// Dovecot stores "{SCHEME}hash"; the prefix must agree with the hash that follows it, so that e.g.
// "{SHA512-CRYPT}" in front of an MD5-crypt string is not quietly accepted.
struct Parsed {
  Scheme scheme;
  std::string_view hash;
};

std::optional<Parsed> parse_stored(std::string_view stored) {
  std::string_view hash = stored;
  std::string_view prefix;
  if (stored.starts_with('{')) {
    const auto close = stored.find('}');
    if (close == std::string_view::npos) return std::nullopt;
    prefix = stored.substr(1, close - 1);
    hash = stored.substr(close + 1);
  }
  const auto scheme = detect(hash);
  if (!scheme) return std::nullopt;
  if (stored.starts_with('{')) {
    bool ok = false;
    if (iequals(prefix, "ARGON2ID")) ok = *scheme == Scheme::Argon2id;
    else if (iequals(prefix, "ARGON2I")) ok = *scheme == Scheme::Argon2i;
    else if (iequals(prefix, "SHA512-CRYPT")) ok = *scheme == Scheme::Sha512Crypt;
    else if (iequals(prefix, "BLF-CRYPT")) ok = *scheme == Scheme::Bcrypt;
    else if (iequals(prefix, "CRYPT")) ok = *scheme == Scheme::Sha512Crypt || *scheme == Scheme::Bcrypt;
    if (!ok) return std::nullopt;
  }
  return Parsed{*scheme, hash};
}

std::optional<std::uint32_t> parse_u32(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  std::uint32_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

struct PhcParams {
  std::uint32_t version = 0;
  std::uint32_t m = 0;
  std::uint32_t t = 0;
  std::uint32_t p = 0;
};

// "$argon2id$v=19$m=…,t=…,p=…$salt$hash" → the numbers in it. Only the exact field order libargon2
// emits is accepted.
std::optional<PhcParams> parse_phc_params(std::string_view hash) {
  // Skip "$argon2id" / "$argon2i".
  auto pos = hash.find('$', 1);
  if (pos == std::string_view::npos) return std::nullopt;
  std::string_view rest = hash.substr(pos + 1);
  if (!rest.starts_with("v=")) return std::nullopt;
  auto end = rest.find('$');
  if (end == std::string_view::npos) return std::nullopt;
  PhcParams out;
  const auto version = parse_u32(rest.substr(2, end - 2));
  if (!version) return std::nullopt;
  out.version = *version;
  rest = rest.substr(end + 1);
  end = rest.find('$');
  if (end == std::string_view::npos) return std::nullopt;
  std::string_view params = rest.substr(0, end);
  const std::array<std::pair<std::string_view, std::uint32_t*>, 3> fields{
      {{"m=", &out.m}, {"t=", &out.t}, {"p=", &out.p}}};
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (!params.starts_with(fields[i].first)) return std::nullopt;
    params.remove_prefix(2);
    const auto comma = params.find(',');
    const bool last = i + 1 == fields.size();
    if (last != (comma == std::string_view::npos)) return std::nullopt;
    const auto value = parse_u32(params.substr(0, comma));
    if (!value) return std::nullopt;
    *fields[i].second = *value;
    params = last ? std::string_view{} : params.substr(comma + 1);
  }
  return out;
}

bool verify_argon2(std::string_view pw, std::string_view hash, argon2_type type) {
  const auto params = parse_phc_params(hash);
  if (!params || params->version != ARGON2_VERSION_13) return false;
  if (params->m > kMaxArgon2MemoryKib || params->t > kMaxArgon2Time || params->p > kMaxArgon2Lanes) return false;
  const std::string encoded(hash);  // argon2_verify wants a NUL-terminated string
  // argon2_verify recomputes the tag and compares in constant time; it allocates per call, so it is
  // thread-safe.
  return argon2_verify(encoded.c_str(), pw.data(), pw.size(), type) == ARGON2_OK;
}

bool crypt_cost_ok(Scheme scheme, std::string_view hash) {
  if (scheme == Scheme::Bcrypt) {
    // "$2y$NN$" + 22 salt chars + 31 hash chars.
    if (hash.size() != 60 || hash[6] != '$') return false;
    const auto cost = parse_u32(hash.substr(4, 2));
    return cost && *cost >= 4 && *cost <= kMaxBcryptCost;
  }
  // "$6$rounds=N$salt$hash" or "$6$salt$hash" (5000 rounds).
  constexpr std::string_view kRounds = "$6$rounds=";
  if (!hash.starts_with(kRounds)) return true;
  const auto end = hash.find('$', kRounds.size());
  if (end == std::string_view::npos) return false;
  const auto rounds = parse_u32(hash.substr(kRounds.size(), end - kRounds.size()));
  return rounds && *rounds <= kMaxSha512Rounds;
}

bool verify_crypt(std::string_view pw, std::string_view hash, Scheme scheme) {
  // crypt(3) takes C strings: an embedded NUL would silently truncate the password.
  if (pw.find('\0') != std::string_view::npos || hash.find('\0') != std::string_view::npos) return false;
  if (!crypt_cost_ok(scheme, hash)) return false;
  const std::string key(pw);
  const std::string setting(hash);
  // crypt_rn with caller-owned state is reentrant; struct crypt_data is ~32 KiB, so keep it off the stack.
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const char* out = crypt_rn(key.c_str(), setting.c_str(), data.get(), static_cast<int>(sizeof(crypt_data)));
  bool ok = false;
  if (out != nullptr && out[0] != '*') {
    const std::size_t len = std::strlen(out);
    ok = len == hash.size() && CRYPTO_memcmp(out, hash.data(), len) == 0;
  }
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return ok;
}

}  // namespace

std::string hash_password(std::string_view pw, const Argon2Params& params) {
  if (pw.size() > kMaxPasswordBytes) throw std::length_error("password too long");
  std::array<unsigned char, kSaltBytes> salt{};
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  const std::size_t len = argon2_encodedlen(params.t_cost, params.m_cost_kib, params.parallelism,
                                            static_cast<std::uint32_t>(salt.size()), kHashBytes, Argon2_id);
  std::string encoded(len, '\0');
  const int rc = argon2id_hash_encoded(params.t_cost, params.m_cost_kib, params.parallelism, pw.data(), pw.size(),
                                       salt.data(), salt.size(), kHashBytes, encoded.data(), encoded.size());
  OPENSSL_cleanse(salt.data(), salt.size());
  if (rc != ARGON2_OK) {
    throw std::invalid_argument(std::string("argon2id_hash_encoded: ") + argon2_error_message(rc));
  }
  encoded.resize(std::strlen(encoded.c_str()));
  return encoded;
}

bool verify_password(std::string_view pw, std::string_view stored) noexcept {
  try {
    if (pw.size() > kMaxPasswordBytes || stored.size() > kMaxStoredBytes) return false;
    const auto parsed = parse_stored(stored);
    if (!parsed) return false;
    switch (parsed->scheme) {
      case Scheme::Argon2id: return verify_argon2(pw, parsed->hash, Argon2_id);
      case Scheme::Argon2i: return verify_argon2(pw, parsed->hash, Argon2_i);
      case Scheme::Sha512Crypt:
      case Scheme::Bcrypt: return verify_crypt(pw, parsed->hash, parsed->scheme);
    }
    return false;
  } catch (...) {
    // Only std::bad_alloc can get here; failing closed is the right answer for a login check.
    return false;
  }
}

bool needs_rehash(std::string_view stored, const Argon2Params& params) noexcept {
  if (stored.size() > kMaxStoredBytes) return true;
  const auto parsed = parse_stored(stored);
  if (!parsed || parsed->scheme != Scheme::Argon2id) return true;
  const auto phc = parse_phc_params(parsed->hash);
  if (!phc) return true;
  return phc->version != ARGON2_VERSION_13 || phc->m != params.m_cost_kib || phc->t != params.t_cost ||
         phc->p != params.parallelism;
}

}  // namespace roost::auth
