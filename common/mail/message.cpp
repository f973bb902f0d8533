#include "common/mail/message.hpp"

#include <algorithm>
#include <cstring>

namespace roost::mail {
namespace {

enum class Mode { Header, Leaf, Multipart, Message };
enum class MultipartState { Preamble, Parts, Epilogue };

struct Node {
  Part part;
  size_t parent = SIZE_MAX;
};

// An entity whose end has not been seen yet. The stack of these is the parser's only nesting
// state; its height is bounded by max_depth + 1.
struct Open {
  size_t node = 0;
  Mode mode = Mode::Header;
  MultipartState mp = MultipartState::Preamble;
  std::string delimiter;  // "--" boundary, for Mode::Multipart
  size_t depth = 0;
  bool message_header = false;  // header is a message header (root or embedded): envelope
  uint64_t body_lf = 0;         // LFs before body_offset
};

// RFC 2046 §5.1.1: dash-boundary [ "--" ] transport-padding. Anything else after the boundary
// means the line is body text (a longer boundary that merely shares the prefix, for instance).
bool match_delimiter(std::string_view line, std::string_view delimiter, bool& close) noexcept {
  if (line.size() < delimiter.size() || std::memcmp(line.data(), delimiter.data(), delimiter.size()) != 0)
    return false;
  std::string_view rest = line.substr(delimiter.size());
  close = rest.size() >= 2 && rest[0] == '-' && rest[1] == '-';
  if (close) rest.remove_prefix(2);
  for (char c : rest)
    if (c != ' ' && c != '\t' && c != '\r') return false;
  return true;
}

Envelope build_envelope(const std::vector<HeaderFieldView>& fields) {
  Envelope env;
  bool date = false, subject = false, irt = false, mid = false, from = false, sender = false,
       reply_to = false, to = false, cc = false, bcc = false;
  auto take_string = [](bool& seen, std::string& dst, std::string_view v) {
    if (!seen) dst = unfold_trim(v), seen = true;
  };
  auto take_list = [](bool& seen, std::vector<Address>& dst, std::string_view v) {
    if (!seen) dst = parse_address_list(v), seen = true;
  };
  for (const auto& f : fields) {
    std::string_view n = f.name;
    if (n.empty()) continue;
    switch (n[0] | 0x20) {
      case 'b':
        if (iequals(n, "bcc")) take_list(bcc, env.bcc, f.value);
        break;
      case 'c':
        if (iequals(n, "cc")) take_list(cc, env.cc, f.value);
        break;
      case 'd':
        if (iequals(n, "date")) take_string(date, env.date, f.value);
        break;
      case 'f':
        if (iequals(n, "from")) take_list(from, env.from, f.value);
        break;
      case 'i':
        if (iequals(n, "in-reply-to")) take_string(irt, env.in_reply_to, f.value);
        break;
      case 'm':
        if (iequals(n, "message-id")) take_string(mid, env.message_id, f.value);
        break;
      case 'r':
        if (iequals(n, "reply-to")) take_list(reply_to, env.reply_to, f.value);
        break;
      case 's':
        if (iequals(n, "subject")) take_string(subject, env.subject, f.value);
        else if (iequals(n, "sender")) take_list(sender, env.sender, f.value);
        break;
      case 't':
        if (iequals(n, "to")) take_list(to, env.to, f.value);
        break;
      default:
        break;
    }
  }
  // RFC 3501 §7.4.2: absent or empty Sender / Reply-To take the value of From.
  if (env.sender.empty()) env.sender = env.from;
  if (env.reply_to.empty()) env.reply_to = env.from;
  return env;
}

void apply_content_fields(Part& p, const std::vector<HeaderFieldView>& fields, bool digest_child) {
  const HeaderFieldView *ct = nullptr, *cte = nullptr, *cid = nullptr, *cdesc = nullptr,
                        *cdisp = nullptr, *cmd5 = nullptr, *clang = nullptr, *cloc = nullptr;
  for (const auto& f : fields) {
    std::string_view n = f.name;
    if (n.size() < 9 || !iequals(n.substr(0, 8), "content-")) continue;
    std::string_view s = n.substr(8);
    auto pick = [&](const HeaderFieldView*& slot, std::string_view want) {
      if (!slot && iequals(s, want)) slot = &f;
    };
    pick(ct, "type");
    pick(cte, "transfer-encoding");
    pick(cid, "id");
    pick(cdesc, "description");
    pick(cdisp, "disposition");
    pick(cmd5, "md5");
    pick(clang, "language");
    pick(cloc, "location");
  }
  bool typed = false;
  if (ct) {
    ContentType parsed = parse_content_type(ct->value);
    if (parsed.valid) {
      p.type = std::move(parsed.type);
      p.subtype = std::move(parsed.subtype);
      typed = true;
    }
    // RFC 2045 §5.2: an invalid Content-Type is treated as text/plain (keeping its parameters).
    p.params = std::move(parsed.params);
  }
  if (!typed) {
    if (!ct && digest_child) {
      p.type = "message";  // RFC 2046 §5.1.5
      p.subtype = "rfc822";
    } else {
      p.type = "text";
      p.subtype = "plain";
    }
  }
  if (cte) {
    p.encoding = to_upper(strip_cfws(cte->value));
    if (p.encoding.empty()) p.encoding = "7BIT";
  }
  if (cid) p.id = unfold_trim(cid->value);
  if (cdesc) p.description = unfold_trim(cdesc->value);
  if (cmd5) p.md5 = unfold_trim(cmd5->value);
  if (cloc) p.location = unfold_trim(cloc->value);
  if (cdisp) {
    ContentDisposition d = parse_content_disposition(cdisp->value);
    p.disposition = std::move(d.type);
    p.disposition_params = std::move(d.params);
  }
  if (clang) {
    // RFC 3282: Language-List = Language-Tag [CFWS] *("," [CFWS] Language-Tag [CFWS])
    std::string list = strip_cfws(clang->value);
    size_t b = 0;
    while (b <= list.size()) {
      size_t e = list.find(',', b);
      if (e == std::string::npos) e = list.size();
      std::string tag = unfold_trim(std::string_view(list).substr(b, e - b));
      tag.erase(std::remove_if(tag.begin(), tag.end(), [](char c) { return c == ' ' || c == '\t'; }),
                tag.end());
      if (!tag.empty()) p.language.push_back(std::move(tag));
      b = e + 1;
    }
  }
}

class Parser {
 public:
  Parser(std::string_view raw, const ParseLimits& limits) : raw_(raw), lim_(limits) {}

  ParsedMessage run() {
    nodes_.reserve(std::min<size_t>(lim_.max_parts, 64));
    nodes_.push_back(Node{});
    stack_.push_back(Open{0, Mode::Header, MultipartState::Preamble, {}, 0, true, 0});

    const size_t n = raw_.size();
    size_t pos = 0;
    uint64_t lf = 0;  // LFs before `pos`
    while (pos < n) {
      const char* base = raw_.data();
      const void* hit = std::memchr(base + pos, '\n', n - pos);
      size_t line_end = hit ? static_cast<size_t>(static_cast<const char*>(hit) - base) + 1 : n;
      size_t content_end = hit ? line_end - 1 : n;
      if (content_end > pos && raw_[content_end - 1] == '\r') --content_end;
      uint64_t lf_after = lf + (hit ? 1 : 0);

      bool handled = false;
      if (content_end - pos >= 2 && raw_[pos] == '-' && raw_[pos + 1] == '-') {
        std::string_view line = raw_.substr(pos, content_end - pos);
        for (size_t k = stack_.size(); k-- > 0;) {
          Open& o = stack_[k];
          bool close = false;
          if (o.mode == Mode::Multipart && o.mp != MultipartState::Epilogue &&
              match_delimiter(line, o.delimiter, close)) {
            on_delimiter(k, pos, line_end, lf, close);
            handled = true;
            break;
          }
        }
      }
      if (!handled && stack_.back().mode == Mode::Header && content_end == pos) {
        end_header(line_end, lf_after);
      }
      pos = line_end;
      lf = lf_after;
    }
    close_above(SIZE_MAX, n, lf);
    return finish();
  }

 private:
  // Start offset of the innermost open entity's current region: nothing before it may be cut.
  uint64_t region_start(const Open& o) const {
    const Part& p = nodes_[o.node].part;
    return o.mode == Mode::Header ? p.header_offset : p.body_offset;
  }

  void on_delimiter(size_t k, size_t line_begin, size_t line_end, uint64_t lf_before, bool close) {
    if (stack_.size() - 1 > k) {
      // RFC 2046 §5.1.1: the CRLF preceding the boundary delimiter line is part of the delimiter.
      uint64_t cut = line_begin, cut_lf = lf_before;
      uint64_t lower = region_start(stack_.back());
      if (cut > lower && raw_[cut - 1] == '\n') {
        --cut;
        --cut_lf;
        if (cut > lower && raw_[cut - 1] == '\r') --cut;
      }
      close_above(k, cut, cut_lf);
    }
    Open& mp = stack_[k];
    if (close) {
      mp.mp = MultipartState::Epilogue;
      return;
    }
    if (nodes_.size() >= lim_.max_parts) {
      limits_hit_ = true;
      mp.mp = MultipartState::Epilogue;
      return;
    }
    mp.mp = MultipartState::Parts;
    size_t parent = mp.node;
    size_t depth = mp.depth + 1;
    Node child;
    child.parent = parent;
    child.part.header_offset = line_end;
    nodes_.push_back(std::move(child));
    stack_.push_back(Open{nodes_.size() - 1, Mode::Header, MultipartState::Preamble, {}, depth, false, 0});
  }

  // Ends every open entity above stack index k (all of them for SIZE_MAX) at `end`.
  void close_above(size_t k, uint64_t end, uint64_t end_lf) {
    size_t keep = k == SIZE_MAX ? 0 : k + 1;
    while (stack_.size() > keep) {
      Open& o = stack_.back();
      if (o.mode == Mode::Header) {
        // Header never ended (no blank line): the whole entity is header, the body is empty.
        Part& p = nodes_[o.node].part;
        p.header_size = end - p.header_offset;
        p.body_offset = end;
        process_header(o, /*closing=*/true, end_lf);
        continue;  // process_header may have turned it into a body mode; loop closes it
      }
      Part& p = nodes_[o.node].part;
      p.body_size = end - p.body_offset;
      p.body_lines = end_lf - o.body_lf;
      if (p.body_size > 0 && raw_[end - 1] != '\n') ++p.body_lines;
      stack_.pop_back();
    }
  }

  void end_header(uint64_t header_end, uint64_t lf_after) {
    Open& o = stack_.back();
    Part& p = nodes_[o.node].part;
    p.header_size = header_end - p.header_offset;
    p.body_offset = header_end;
    process_header(o, /*closing=*/false, lf_after);
  }

  // Header block complete: fill the Part, decide how its body is parsed. When `closing`, the
  // entity ends right here (no body), so no new scanning state may be opened.
  void process_header(Open& o, bool closing, uint64_t body_lf) {
    const size_t node = o.node;
    const size_t depth = o.depth;
    const bool message_header = o.message_header;
    o.body_lf = body_lf;
    {
      Part& p = nodes_[node].part;
      std::string_view block = raw_.substr(p.header_offset, p.header_size);
      if (block.size() > lim_.max_header_bytes) {
        limits_hit_ = true;
        size_t cut = block.rfind('\n', lim_.max_header_bytes);
        block = block.substr(0, cut == std::string_view::npos ? 0 : cut + 1);
      }
      std::vector<HeaderFieldView> fields = split_header_fields(block, lim_.max_header_fields);
      if (fields.size() >= lim_.max_header_fields) limits_hit_ = true;

      size_t parent = nodes_[node].parent;
      bool digest_child = !message_header && parent != SIZE_MAX &&
                          nodes_[parent].part.type == "multipart" &&
                          nodes_[parent].part.subtype == "digest";
      apply_content_fields(p, fields, digest_child);

      if (message_header) {
        Envelope env = build_envelope(fields);
        if (parent == SIZE_MAX) {
          envelope_ = std::move(env);
          top_headers_.reserve(fields.size());
          for (const auto& f : fields)
            top_headers_.push_back(HeaderField{std::string(f.name), std::string(f.value),
                                               p.header_offset + f.offset, f.size});
        } else {
          nodes_[parent].part.envelope = std::move(env);
        }
      }
    }

    Part& p = nodes_[node].part;
    const bool can_nest = depth < lim_.max_depth;
    if (p.type == "multipart") {
      const std::string* boundary = find_param(p.params, "boundary");
      if (!can_nest) {
        make_opaque(p);
      } else if (boundary && !boundary->empty() && !closing) {
        o.mode = Mode::Multipart;
        o.mp = MultipartState::Preamble;
        o.delimiter = "--" + *boundary;
        return;
      }
      o.mode = Mode::Leaf;  // no boundary: a multipart without parts
      return;
    }
    if (p.type == "message" && (p.subtype == "rfc822" || p.subtype == "global")) {
      // RFC 2046 §5.2.1: only 7bit/8bit/binary; an encoded message cannot be parsed in place.
      bool plain = p.encoding == "7BIT" || p.encoding == "8BIT" || p.encoding == "BINARY";
      if (!plain) {
        o.mode = Mode::Leaf;
        return;
      }
      if (!can_nest || nodes_.size() >= lim_.max_parts) {
        make_opaque(p);
        o.mode = Mode::Leaf;
        return;
      }
      o.mode = Mode::Message;
      Node child;
      child.parent = node;
      child.part.header_offset = p.body_offset;
      nodes_.push_back(std::move(child));
      stack_.push_back(Open{nodes_.size() - 1, Mode::Header, MultipartState::Preamble, {},
                            depth + 1, true, 0});
      if (closing) {
        // The embedded message is empty; give it its (empty) header now so the invariant
        // "message/rfc822 has one child and an envelope" holds.
        Open& c = stack_.back();
        Part& cp = nodes_[c.node].part;
        cp.header_size = 0;
        cp.body_offset = cp.header_offset;
        process_header(c, true, body_lf);
      }
      return;
    }
    o.mode = Mode::Leaf;
  }

  void make_opaque(Part& p) {
    limits_hit_ = true;
    p.type = "application";
    p.subtype = "octet-stream";
    p.params.clear();
  }

  ParsedMessage finish() {
    // Children always have larger indices than their parents, so walking backwards attaches every
    // subtree before its root is moved — no recursion.
    for (size_t i = nodes_.size(); i-- > 1;) {
      Part& p = nodes_[i].part;
      std::reverse(p.children.begin(), p.children.end());
      nodes_[nodes_[i].parent].part.children.push_back(std::move(p));
    }
    ParsedMessage m;
    m.root = std::move(nodes_[0].part);
    std::reverse(m.root.children.begin(), m.root.children.end());
    m.envelope = std::move(envelope_);
    m.top_headers = std::move(top_headers_);
    m.limits_hit = limits_hit_;
    return m;
  }

  std::string_view raw_;
  const ParseLimits& lim_;
  std::vector<Node> nodes_;
  std::vector<Open> stack_;
  Envelope envelope_;
  std::vector<HeaderField> top_headers_;
  bool limits_hit_ = false;
};

}  // namespace

ParsedMessage parse_message(std::string_view raw, const ParseLimits& limits) {
  return Parser(raw, limits).run();
}

const Part* find_section(const Part& root, std::span<const uint32_t> path) noexcept {
  // `msg` is the entity whose body the next number indexes: the root, or the child of a
  // message/rfc822 part.
  const Part* msg = &root;
  const Part* cur = &root;
  for (uint32_t n : path) {
    if (!msg || n == 0) return nullptr;
    if (msg->is_multipart()) {
      if (n > msg->children.size()) return nullptr;
      cur = &msg->children[n - 1];
    } else if (n == 1) {
      cur = msg;  // part 1 of a non-multipart message is its body
    } else {
      return nullptr;
    }
    if (cur->is_message() && cur->children.size() == 1) {
      msg = &cur->children[0];
    } else if (cur->is_multipart()) {
      msg = cur;
    } else {
      msg = nullptr;  // a leaf has no sub-parts
    }
  }
  return cur;
}

}  // namespace roost::mail
