// Compact, exact serialization of ParsedMessage, so the store keeps the parse result per message
// and FETCH never re-parses. Format: CBOR (RFC 8949) of a positional JSON array, versioned.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/mail/message.hpp"

namespace roost::mail {

inline constexpr int kBlobVersion = 1;

std::string to_blob(const ParsedMessage& message);
// nullopt for anything that is not a well-formed blob of a known version (never throws on bad
// input). from_blob(to_blob(m)) == m for every m.
std::optional<ParsedMessage> from_blob(std::string_view blob);

}  // namespace roost::mail
