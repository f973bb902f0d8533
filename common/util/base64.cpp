#include "common/util/base64.hpp"

#include <array>
#include <cstdint>

namespace roost {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::uint8_t kInvalid = 0xFF;

constexpr std::array<std::uint8_t, 256> make_decode_table() {
  std::array<std::uint8_t, 256> table{};
  for (auto& v : table) v = kInvalid;
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return table;
}

constexpr std::array<std::uint8_t, 256> kDecode = make_decode_table();

std::uint8_t sextet(char c) { return kDecode[static_cast<unsigned char>(c)]; }

}  // namespace

std::string base64_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t n = (static_cast<std::uint32_t>(static_cast<unsigned char>(data[i])) << 16) |
                            (static_cast<std::uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8) |
                            static_cast<std::uint32_t>(static_cast<unsigned char>(data[i + 2]));
    out.push_back(kAlphabet[(n >> 18) & 0x3F]);
    out.push_back(kAlphabet[(n >> 12) & 0x3F]);
    out.push_back(kAlphabet[(n >> 6) & 0x3F]);
    out.push_back(kAlphabet[n & 0x3F]);
  }
  // RFC 4648 §4: the final quantum is 8 or 16 bits, padded with "==" or "=".
  const std::size_t rest = data.size() - i;
  if (rest == 1) {
    const std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(data[i])) << 16;
    out.push_back(kAlphabet[(n >> 18) & 0x3F]);
    out.push_back(kAlphabet[(n >> 12) & 0x3F]);
    out.append("==");
  } else if (rest == 2) {
    const std::uint32_t n = (static_cast<std::uint32_t>(static_cast<unsigned char>(data[i])) << 16) |
                            (static_cast<std::uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8);
    out.push_back(kAlphabet[(n >> 18) & 0x3F]);
    out.push_back(kAlphabet[(n >> 12) & 0x3F]);
    out.push_back(kAlphabet[(n >> 6) & 0x3F]);
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  // RFC 4648 §3.2: padding is required, so the encoded length is always a multiple of 4.
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const std::uint8_t a = sextet(text[i]);
    const std::uint8_t b = sextet(text[i + 1]);
    if (a == kInvalid || b == kInvalid) return std::nullopt;
    const char c3 = text[i + 2];
    const char c4 = text[i + 3];
    if (last && c3 == '=' && c4 == '=') {
      // RFC 4648 §3.5: the unused low 4 bits of the second sextet must be zero.
      if ((b & 0x0F) != 0) return std::nullopt;
      out.push_back(static_cast<char>((a << 2) | (b >> 4)));
      break;
    }
    const std::uint8_t c = sextet(c3);
    if (c == kInvalid) return std::nullopt;
    if (last && c4 == '=') {
      // RFC 4648 §3.5: the unused low 2 bits of the third sextet must be zero.
      if ((c & 0x03) != 0) return std::nullopt;
      out.push_back(static_cast<char>((a << 2) | (b >> 4)));
      out.push_back(static_cast<char>(((b & 0x0F) << 4) | (c >> 2)));
      break;
    }
    const std::uint8_t d = sextet(c4);
    if (d == kInvalid) return std::nullopt;
    out.push_back(static_cast<char>((a << 2) | (b >> 4)));
    out.push_back(static_cast<char>(((b & 0x0F) << 4) | (c >> 2)));
    out.push_back(static_cast<char>(((c & 0x03) << 6) | d));
  }
  return out;
}

std::optional<std::string> base64_decode_lenient(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char ch : text) {
    if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') continue;
    const std::uint8_t v = sextet(ch);
    // Deviation: RFC 2045 §6.8 says to ignore other non-alphabet characters; we stop instead, so that
    // trailing junk (a stray boundary, a signature) is not folded into the decoded body. '=' marks
    // the end of data in either reading.
    if (v == kInvalid) break;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

}  // namespace roost
