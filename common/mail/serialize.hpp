// Compact, exact serialization of ParsedMessage, so the store keeps the parse result per message
// and FETCH never re-parses. Format: a versioned positional binary encoding (varints and
// length-prefixed strings, see serialize.cpp), decoded in one pass without intermediate objects.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/mail/message.hpp"

namespace roost::mail {

inline constexpr int kBlobVersion = 2;  // 1 was CBOR; such blobs are re-parsed from the message

std::string to_blob(const ParsedMessage& message);
// nullopt for anything that is not a well-formed blob of a known version (never throws on bad
// input). from_blob(to_blob(m)) == m for every m.
std::optional<ParsedMessage> from_blob(std::string_view blob);

}  // namespace roost::mail
