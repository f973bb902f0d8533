// Helpers shared by the roost_mail tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/mail/message.hpp"

namespace roost::mail::testing {

// Test messages are written with '\n'; mail uses CRLF.
inline std::string crlf(std::string_view lf_text) {
  std::string out;
  out.reserve(lf_text.size() + lf_text.size() / 16);
  for (char c : lf_text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

inline std::string_view header_of(std::string_view raw, const Part& p) {
  return raw.substr(p.header_offset, p.header_size);
}
inline std::string_view body_of(std::string_view raw, const Part& p) {
  return raw.substr(p.body_offset, p.body_size);
}

// Structural invariants every parse must satisfy, whatever the input.
inline void expect_invariants(std::string_view raw, const Part& root) {
  struct Item {
    const Part* part;
    uint64_t lo, hi;
  };
  std::vector<Item> stack{{&root, 0, raw.size()}};
  while (!stack.empty()) {
    Item it = stack.back();
    stack.pop_back();
    const Part& p = *it.part;
    EXPECT_GE(p.header_offset, it.lo);
    EXPECT_EQ(p.header_offset + p.header_size, p.body_offset);
    EXPECT_LE(p.body_offset + p.body_size, it.hi);
    if (p.envelope) {
      EXPECT_EQ(p.children.size(), 1u);
    }
    uint64_t prev_end = p.body_offset;
    for (const auto& c : p.children) {
      EXPECT_GE(c.header_offset, prev_end);  // in order, non-overlapping
      prev_end = c.body_offset + c.body_size;
      stack.push_back({&c, p.body_offset, p.body_offset + p.body_size});
    }
  }
}

}  // namespace roost::mail::testing
