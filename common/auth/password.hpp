// Password hashing and verification.
//
// Security posture: new hashes are always Argon2id (RFC 9106) in PHC string format. Verification also
// accepts the schemes a Dovecot migration brings along (Argon2i, SHA512-CRYPT, BLF-CRYPT), with or
// without Dovecot's "{SCHEME}" prefix. Weak schemes ($1$ MD5-crypt, DES crypt, plain text, {PLAIN},
// {SHA}, …) are never accepted, so a leaked legacy row cannot be used as a password. Cost parameters in
// stored hashes are bounded before any work is done, so a hostile row cannot pin a CPU or exhaust memory.
// All functions are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace roost::auth {

struct Argon2Params {
  std::uint32_t t_cost = 2;          // iterations
  std::uint32_t m_cost_kib = 19456;  // memory, KiB (19 MiB: the OWASP minimum for Argon2id)
  std::uint32_t parallelism = 1;     // lanes
};

// Longest password accepted anywhere in this module; longer input is treated as an attack.
inline constexpr std::size_t kMaxPasswordBytes = 4096;

// Returns "$argon2id$v=19$m=<m>,t=<t>,p=<p>$<salt>$<hash>" (unpadded base64) with a 16-byte salt from
// OpenSSL RAND_bytes and a 32-byte tag.
// Throws std::length_error if pw is longer than kMaxPasswordBytes, std::invalid_argument if params are
// rejected by libargon2, std::runtime_error if the CSPRNG fails. (Administrative path, not client input.)
[[nodiscard]] std::string hash_password(std::string_view pw, const Argon2Params& params = {});

// True iff pw matches stored. Accepted forms:
//   $argon2id$… / $argon2i$…       (PHC)
//   $6$…                           (SHA512-CRYPT)
//   $2y$… / $2b$… / $2a$…          (bcrypt)
//   {ARGON2ID} {ARGON2I} {SHA512-CRYPT} {BLF-CRYPT} {CRYPT} followed by a matching form above
// Everything else, and any password longer than kMaxPasswordBytes, yields false. Never throws.
[[nodiscard]] bool verify_password(std::string_view pw, std::string_view stored) noexcept;

// True unless stored is an Argon2id v=19 hash with exactly params (a "{ARGON2ID}" prefix is allowed).
// Call after a successful verify_password to upgrade legacy or outdated hashes.
[[nodiscard]] bool needs_rehash(std::string_view stored, const Argon2Params& params) noexcept;

}  // namespace roost::auth
