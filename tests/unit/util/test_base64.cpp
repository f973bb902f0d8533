#include "common/util/base64.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <utility>

using roost::base64_decode;
using roost::base64_decode_lenient;
using roost::base64_encode;

namespace {

// RFC 4648 §10.
constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kRfc4648Vectors{{
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
}};

TEST(Base64, EncodeRfc4648Vectors) {
  for (const auto& [plain, encoded] : kRfc4648Vectors) EXPECT_EQ(base64_encode(plain), encoded) << plain;
}

TEST(Base64, DecodeRfc4648Vectors) {
  for (const auto& [plain, encoded] : kRfc4648Vectors) {
    const auto out = base64_decode(encoded);
    ASSERT_TRUE(out.has_value()) << encoded;
    EXPECT_EQ(*out, plain);
  }
}

TEST(Base64, RoundTripsAllByteValuesAndLengths) {
  std::string data;
  for (int i = 0; i < 256; ++i) data.push_back(static_cast<char>(i));
  for (std::size_t len = 0; len <= data.size(); ++len) {
    const auto slice = std::string_view(data).substr(0, len);
    const auto encoded = base64_encode(slice);
    EXPECT_EQ(encoded.size() % 4, 0U);
    const auto decoded = base64_decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << len;
    EXPECT_EQ(*decoded, slice);
  }
}

TEST(Base64, StrictRejectsMissingPadding) {
  EXPECT_FALSE(base64_decode("Zg"));
  EXPECT_FALSE(base64_decode("Zm8"));
  EXPECT_FALSE(base64_decode("Zm9vY"));
}

TEST(Base64, StrictRejectsWhitespaceAndNonAlphabet) {
  EXPECT_FALSE(base64_decode("Zm9v\r\n"));
  EXPECT_FALSE(base64_decode("Zm 9v"));
  EXPECT_FALSE(base64_decode(" Zm9v"));
  EXPECT_FALSE(base64_decode("Zm9v\tYmFy"));
  EXPECT_FALSE(base64_decode("Zm9-"));  // base64url alphabet is not accepted
  EXPECT_FALSE(base64_decode("Zm9_"));
  EXPECT_FALSE(base64_decode(std::string_view("Zm\0v", 4)));
  EXPECT_FALSE(base64_decode("Zm9\xC3"));
}

TEST(Base64, StrictRejectsMisplacedPadding) {
  EXPECT_FALSE(base64_decode("===="));
  EXPECT_FALSE(base64_decode("Z==="));
  EXPECT_FALSE(base64_decode("Zg==Zm9v"));  // padding before the end
  EXPECT_FALSE(base64_decode("Zm=v"));
  EXPECT_FALSE(base64_decode("=m9v"));
}

TEST(Base64, StrictRejectsNonZeroPadBits) {
  // RFC 4648 §3.5: "Zh==" and "Zm9=" carry non-zero bits that the canonical encoding would not.
  EXPECT_FALSE(base64_decode("Zh=="));
  EXPECT_FALSE(base64_decode("Zm9="));
  EXPECT_TRUE(base64_decode("Zg=="));
  EXPECT_TRUE(base64_decode("Zm8="));
}

TEST(Base64, LenientSkipsLineBreaksAndWhitespace) {
  const auto out = base64_decode_lenient("Zm9v\r\nYmFy\r\n");
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, "foobar");
  EXPECT_EQ(*base64_decode_lenient(" Zm 9v\tYm\nE= \r\n"), "fooba");
}

TEST(Base64, LenientStopsAtPaddingAndInvalidCharacters) {
  EXPECT_EQ(*base64_decode_lenient("Zm8=Zm9v"), "fo");
  EXPECT_EQ(*base64_decode_lenient("Zm9vYmFy\r\n--boundary--\r\n"), "foobar");
  EXPECT_EQ(*base64_decode_lenient("Zm9v!YmFy"), "foo");
}

TEST(Base64, LenientToleratesMissingPaddingAndTruncation) {
  EXPECT_EQ(*base64_decode_lenient("Zm9vYg"), "foob");
  EXPECT_EQ(*base64_decode_lenient("Zm9vYmE"), "fooba");
  EXPECT_EQ(*base64_decode_lenient("Zm9vY"), "foo");  // dangling sextet dropped
  EXPECT_EQ(*base64_decode_lenient(""), "");
  EXPECT_EQ(*base64_decode_lenient("\r\n\r\n"), "");
}

}  // namespace
