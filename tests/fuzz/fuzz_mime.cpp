// libFuzzer target for roost_mail: parse → invariants → serialize → round trip → extract text.
// Any crash, sanitizer report, hang, or abort() below is a bug. Seeds: tests/fuzz/corpus/mime/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "common/mail/address.hpp"
#include "common/mail/header.hpp"
#include "common/mail/message.hpp"
#include "common/mail/serialize.hpp"
#include "common/mail/text.hpp"

namespace {

using namespace roost::mail;

void check(bool ok) {
  if (!ok) std::abort();
}

void check_tree(std::string_view raw, const ParsedMessage& m, const ParseLimits& limits) {
  struct Item {
    const Part* part;
    uint64_t lo, hi;
    size_t depth;
  };
  size_t count = 0;
  std::vector<Item> stack{{&m.root, 0, raw.size(), 0}};
  while (!stack.empty()) {
    Item it = stack.back();
    stack.pop_back();
    const Part& p = *it.part;
    ++count;
    check(it.depth <= limits.max_depth);
    check(p.header_offset >= it.lo);
    check(p.header_offset + p.header_size == p.body_offset);
    check(p.body_offset + p.body_size <= it.hi);
    check(!p.envelope || p.children.size() == 1);
    check(p.children.empty() || p.is_multipart() || p.envelope);
    uint64_t prev_end = p.body_offset;
    for (const auto& c : p.children) {
      check(c.header_offset >= prev_end);
      prev_end = c.body_offset + c.body_size;
      stack.push_back({&c, p.body_offset, p.body_offset + p.body_size, it.depth + 1});
    }
  }
  check(count <= limits.max_parts);
  check(m.top_headers.size() <= limits.max_header_fields);
  for (const auto& h : m.top_headers) check(h.offset + h.size <= m.root.header_size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view raw(reinterpret_cast<const char*>(data), size);

  // Small limits too, so the limit paths are reached with small inputs.
  static const ParseLimits kDefault{};
  static const ParseLimits kSmall{4, 16, 256, 8};
  for (const ParseLimits* limits : {&kDefault, &kSmall}) {
    ParsedMessage m = parse_message(raw, *limits);
    check_tree(raw, m, *limits);

    std::string blob = to_blob(m);
    std::optional<ParsedMessage> back = from_blob(blob);
    check(back.has_value());
    check(*back == m);

    std::string text = extract_text(raw, m, 4096);
    check(text.size() <= 4096);
    check(is_valid_utf8(text));
  }

  // The blob decoder must reject or accept arbitrary bytes without crashing.
  (void)from_blob(raw);

  // Field-level parsers on the whole input as one header value.
  check(is_valid_utf8(decode_rfc2047(raw)));
  (void)parse_address_list(raw);
  (void)parse_content_type(raw);
  (void)parse_content_disposition(raw);
  return 0;
}
