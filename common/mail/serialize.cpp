#include "common/mail/serialize.hpp"

#include <cstring>

namespace roost::mail {
namespace {

// Layout (version 2). Every integer is an unsigned LEB128 varint; a string is its length then its bytes;
// a list is its count then its elements. The blob is read in one pass, straight into ParsedMessage (the
// version-1 CBOR went through a JSON DOM first and dominated FETCH ENVELOPE BODYSTRUCTURE).
//   blob     = 0x02 part envelope headers limits_hit(0|1)
//   part     = header_offset header_size body_offset body_size body_lines type subtype params id
//              description encoding md5 disposition disposition_params language(list of string)
//              location children(list of part) has_envelope(0|1) [envelope]
//   params   = list of (name value)
//   envelope = date subject in_reply_to message_id from sender_kind(0 = same as from | 1) [sender]
//              reply_to_kind(0 | 1) [reply_to] to cc bcc
//   addrs    = list of (name route mailbox host flags)   flags: 1 group_start, 2 group_end
//   headers  = list of (name value offset size)
constexpr unsigned char kMagic = static_cast<unsigned char>(kBlobVersion);
constexpr size_t kMinPartBytes = 19;  // 5 numbers, 9 strings, 3 list counts, the envelope flag
constexpr size_t kMaxDepth = 4096;  // far above any parser output; guards a corrupt blob

struct BadBlob {};

class Writer {
public:
  void num(uint64_t v) {
    while (v >= 0x80) {
      out_ += static_cast<char>((v & 0x7F) | 0x80);
      v >>= 7;
    }
    out_ += static_cast<char>(v);
  }
  void str(std::string_view s) {
    num(s.size());
    out_.append(s);
  }
  void params(const Params& p) {
    num(p.size());
    for (const auto& [k, v] : p) {
      str(k);
      str(v);
    }
  }
  void addresses(const std::vector<Address>& list) {
    num(list.size());
    for (const auto& a : list) {
      str(a.name);
      str(a.route);
      str(a.mailbox);
      str(a.host);
      num((a.group_start ? 1 : 0) | (a.group_end ? 2 : 0));
    }
  }
  void envelope(const Envelope& e) {
    str(e.date);
    str(e.subject);
    str(e.in_reply_to);
    str(e.message_id);
    addresses(e.from);
    // sender / reply_to equal to from is the common case (RFC 3501 §7.4.2 defaults): stored once.
    for (const auto* list : {&e.sender, &e.reply_to}) {
      if (*list == e.from) {
        num(0);
      } else {
        num(1);
        addresses(*list);
      }
    }
    addresses(e.to);
    addresses(e.cc);
    addresses(e.bcc);
  }
  void part(const Part& p) {
    num(p.header_offset);
    num(p.header_size);
    num(p.body_offset);
    num(p.body_size);
    num(p.body_lines);
    str(p.type);
    str(p.subtype);
    params(p.params);
    str(p.id);
    str(p.description);
    str(p.encoding);
    str(p.md5);
    str(p.disposition);
    params(p.disposition_params);
    num(p.language.size());
    for (const auto& l : p.language) str(l);
    str(p.location);
    num(p.children.size());
    for (const auto& c : p.children) part(c);  // depth bounded by the parser
    num(p.envelope ? 1 : 0);
    if (p.envelope) envelope(*p.envelope);
  }
  std::string take() { return std::move(out_); }

private:
  std::string out_;
};

class Reader {
public:
  explicit Reader(std::string_view in) : p_(in.data()), end_(in.data() + in.size()) {}

  uint64_t num() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) throw BadBlob{};
      auto b = static_cast<unsigned char>(*p_++);
      if (shift == 63 && b > 1) throw BadBlob{};  // more than 64 bits
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    throw BadBlob{};
  }
  // A count of elements, each taking at least `min_bytes` of what is left: a corrupt count cannot make
  // us allocate more than a small multiple of the blob.
  size_t count(size_t min_bytes = 1) {
    uint64_t n = num();
    if (n > static_cast<uint64_t>(end_ - p_) / min_bytes) throw BadBlob{};
    return static_cast<size_t>(n);
  }
  bool flag() {
    uint64_t v = num();
    if (v > 1) throw BadBlob{};
    return v == 1;
  }
  void str(std::string& out) {
    size_t n = count();
    out.assign(p_, n);
    p_ += n;
  }
  std::string str() {
    std::string s;
    str(s);
    return s;
  }
  void params(Params& out) {
    size_t n = count(2);
    out.resize(n);
    for (auto& [k, v] : out) {
      str(k);
      str(v);
    }
  }
  void addresses(std::vector<Address>& out) {
    size_t n = count(5);
    out.resize(n);
    for (auto& a : out) {
      str(a.name);
      str(a.route);
      str(a.mailbox);
      str(a.host);
      uint64_t flags = num();
      if (flags > 3) throw BadBlob{};
      a.group_start = flags & 1;
      a.group_end = flags & 2;
    }
  }
  void envelope(Envelope& e) {
    str(e.date);
    str(e.subject);
    str(e.in_reply_to);
    str(e.message_id);
    addresses(e.from);
    for (auto* list : {&e.sender, &e.reply_to}) {
      if (flag()) addresses(*list);
      else *list = e.from;
    }
    addresses(e.to);
    addresses(e.cc);
    addresses(e.bcc);
  }
  void part(Part& p, size_t depth) {
    if (depth > kMaxDepth) throw BadBlob{};
    p.header_offset = num();
    p.header_size = num();
    p.body_offset = num();
    p.body_size = num();
    p.body_lines = num();
    str(p.type);
    str(p.subtype);
    params(p.params);
    str(p.id);
    str(p.description);
    str(p.encoding);
    str(p.md5);
    str(p.disposition);
    params(p.disposition_params);
    p.language.resize(count());
    for (auto& l : p.language) str(l);
    str(p.location);
    p.children.resize(count(kMinPartBytes));
    for (auto& c : p.children) part(c, depth + 1);
    if (flag()) part_envelope(p);
  }
  void part_envelope(Part& p) {
    p.envelope.emplace();
    envelope(*p.envelope);
  }
  unsigned char byte() {
    if (p_ == end_) throw BadBlob{};
    return static_cast<unsigned char>(*p_++);
  }
  bool done() const { return p_ == end_; }

private:
  const char* p_;
  const char* end_;
};

}  // namespace

std::string to_blob(const ParsedMessage& m) {
  Writer w;
  w.num(kMagic);
  w.part(m.root);
  w.envelope(m.envelope);
  w.num(m.top_headers.size());
  for (const auto& h : m.top_headers) {
    w.str(h.name);
    w.str(h.value);
    w.num(h.offset);
    w.num(h.size);
  }
  w.num(m.limits_hit ? 1 : 0);
  return w.take();
}

std::optional<ParsedMessage> from_blob(std::string_view blob) {
  try {
    Reader r(blob);
    if (r.byte() != kMagic) return std::nullopt;  // unknown version (or a version-1 CBOR blob)
    ParsedMessage m;
    r.part(m.root, 0);
    r.envelope(m.envelope);
    m.top_headers.resize(r.count(4));
    for (auto& h : m.top_headers) {
      r.str(h.name);
      r.str(h.value);
      h.offset = r.num();
      h.size = r.num();
    }
    m.limits_hit = r.flag();
    if (!r.done()) return std::nullopt;
    return m;
  } catch (const BadBlob&) {
    return std::nullopt;
  } catch (const std::bad_alloc&) {
    return std::nullopt;
  }
}

}  // namespace roost::mail
