#include "common/mail/text.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>

namespace roost::mail {
namespace {

int b64_value(unsigned char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

size_t ifind(std::string_view s, size_t pos, std::string_view needle) noexcept {
  for (size_t i = pos; i + needle.size() <= s.size(); ++i)
    if (iequals(s.substr(i, needle.size()), needle)) return i;
  return std::string_view::npos;
}

void append_codepoint(std::string& out, uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

// Drops a trailing incomplete UTF-8 sequence (input is otherwise valid UTF-8).
void trim_partial_utf8(std::string& s) {
  size_t i = s.size();
  size_t back = 0;
  while (i > 0 && back < 4 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) --i, ++back;
  if (i == 0) return;
  unsigned char lead = static_cast<unsigned char>(s[i - 1]);
  size_t need = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  if (back + 1 < need) s.resize(i - 1);
}

class Sink {
 public:
  Sink(std::string& out, size_t max) : out_(out), max_(max) {}
  bool full() const noexcept { return out_.size() >= max_; }
  size_t remaining() const noexcept { return full() ? 0 : max_ - out_.size(); }
  void add(std::string_view text) {
    if (full() || text.empty()) return;
    size_t take = std::min(text.size(), remaining());
    out_.append(text.substr(0, take));
    if (take < text.size()) trim_partial_utf8(out_);
  }
  void line(std::string_view text) {
    if (text.empty()) return;
    add(text);
    add("\n");
  }

 private:
  std::string& out_;
  size_t max_;
};

void add_envelope(Sink& sink, const Envelope& env) {
  sink.line(decode_rfc2047(env.subject));
  for (const auto* list : {&env.from, &env.to}) {
    std::string line;
    for (const Address& a : *list) {
      if (a.group_start || a.group_end) continue;
      if (!line.empty()) line += ", ";
      std::string name = display_name_utf8(a);
      if (!name.empty()) line += name + " ";
      line += sanitize_utf8(a.mailbox);
      if (!a.host.empty()) line += "@" + sanitize_utf8(a.host);
    }
    sink.line(line);
  }
}

void add_text_part(Sink& sink, std::string_view raw, const Part& p) {
  if (p.body_offset >= raw.size()) return;
  std::string_view body = raw.substr(p.body_offset, std::min<uint64_t>(p.body_size, raw.size() - p.body_offset));
  // Decode no more than the output can hold: base64 is 4:3, QP at most 3:1, and a charset
  // conversion at most ~3 UTF-8 bytes per input byte — 4× remaining covers every combination.
  size_t budget = sink.remaining() * 4 + 64;
  if (body.size() > budget) body = body.substr(0, budget);
  std::string decoded;
  if (p.encoding == "BASE64") {
    decoded = decode_base64(body);
  } else if (p.encoding == "QUOTED-PRINTABLE") {
    decoded = decode_quoted_printable(body);
  } else {
    decoded.assign(body);
  }
  const std::string* cs = find_param(p.params, "charset");
  std::optional<std::string> text = charset_to_utf8(decoded, cs ? *cs : "us-ascii");
  if (!text) text = charset_to_utf8(decoded, "us-ascii");  // unknown charset: UTF-8 or Latin-1
  if (p.subtype == "html") *text = html_to_text(*text);
  text->erase(std::remove(text->begin(), text->end(), '\r'), text->end());
  text->erase(std::remove(text->begin(), text->end(), '\0'), text->end());
  sink.line(*text);
}

}  // namespace

std::string decode_base64(std::string_view in) {
  std::string out;
  out.reserve(in.size() / 4 * 3 + 3);
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : in) {
    if (ch == '=') {  // padding; a later chunk (concatenated base64) starts afresh
      acc = 0;
      bits = 0;
      continue;
    }
    int v = b64_value(static_cast<unsigned char>(ch));
    if (v < 0) continue;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xFF);
      acc &= (1u << bits) - 1;
    }
  }
  return out;
}

std::string decode_quoted_printable(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    size_t lf = in.find('\n', i);
    size_t end = lf == std::string_view::npos ? in.size() : lf;
    size_t content_end = end;
    if (content_end > i && in[content_end - 1] == '\r') --content_end;
    std::string_view line = in.substr(i, content_end - i);
    // RFC 2045 §6.7 rule 3: trailing whitespace was added in transport; drop it.
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    bool soft_break = !line.empty() && line.back() == '=';
    if (soft_break) line.remove_suffix(1);
    for (size_t k = 0; k < line.size(); ++k) {
      if (line[k] == '=' && k + 2 < line.size() && hex_value(line[k + 1]) >= 0 &&
          hex_value(line[k + 2]) >= 0) {
        out += char(hex_value(line[k + 1]) * 16 + hex_value(line[k + 2]));
        k += 2;
      } else {
        out += line[k];
      }
    }
    if (lf == std::string_view::npos) break;
    if (!soft_break) out += "\r\n";
    i = lf + 1;
  }
  return out;
}

std::string html_to_text(std::string_view html) {
  static constexpr std::string_view kBlockTags[] = {"br", "p", "div", "tr", "td", "th", "li",
                                                    "h1", "h2", "h3", "h4", "h5", "h6", "table",
                                                    "blockquote", "hr", "ul", "ol", "pre"};
  std::string out;
  out.reserve(html.size());
  size_t i = 0;
  while (i < html.size()) {
    char c = html[i];
    if (c == '<') {
      if (html.compare(i, 4, "<!--") == 0) {
        size_t e = html.find("-->", i + 4);
        i = e == std::string_view::npos ? html.size() : e + 3;
        continue;
      }
      size_t name_begin = i + 1 + (i + 1 < html.size() && html[i + 1] == '/' ? 1 : 0);
      size_t name_end = name_begin;
      while (name_end < html.size() && std::isalnum(static_cast<unsigned char>(html[name_end]))) ++name_end;
      std::string_view name = html.substr(name_begin, name_end - name_begin);
      bool closing = name_begin == i + 2;
      size_t e = html.find('>', i);
      size_t after = e == std::string_view::npos ? html.size() : e + 1;
      if (!closing && (iequals(name, "script") || iequals(name, "style"))) {
        std::string end_tag = "</" + std::string(name);
        size_t close = ifind(html, after, end_tag);
        if (close == std::string_view::npos) break;
        size_t gt = html.find('>', close);
        i = gt == std::string_view::npos ? html.size() : gt + 1;
        continue;
      }
      for (auto tag : kBlockTags)
        if (iequals(name, tag)) {
          out += '\n';
          break;
        }
      i = after;
    } else if (c == '&') {
      size_t semi = html.find(';', i);
      if (semi != std::string_view::npos && semi - i <= 10) {
        std::string_view ent = html.substr(i + 1, semi - i - 1);
        bool done = true;
        if (ent == "amp") out += '&';
        else if (ent == "lt") out += '<';
        else if (ent == "gt") out += '>';
        else if (ent == "quot") out += '"';
        else if (ent == "apos") out += '\'';
        else if (ent == "nbsp") out += ' ';
        else if (ent.size() >= 2 && ent[0] == '#') {
          uint32_t cp = 0;
          bool hex = ent[1] == 'x' || ent[1] == 'X';
          std::string_view digits = ent.substr(hex ? 2 : 1);
          done = !digits.empty();
          for (char d : digits) {
            int v = hex ? hex_value(d) : (d >= '0' && d <= '9' ? d - '0' : -1);
            if (v < 0 || cp > 0x10FFFF) {
              done = false;
              break;
            }
            cp = cp * (hex ? 16 : 10) + uint32_t(v);
          }
          if (done) append_codepoint(out, cp);
        } else {
          done = false;
        }
        if (done) {
          i = semi + 1;
          continue;
        }
      }
      out += c;
      ++i;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

namespace {
void add_body(Sink& sink, std::string_view raw, const ParsedMessage& message);
}  // namespace

std::string extract_text(std::string_view raw, const ParsedMessage& message, size_t max_bytes) {
  std::string out;
  Sink sink(out, max_bytes);
  add_envelope(sink, message.envelope);
  add_body(sink, raw, message);
  return out;
}

std::string extract_body_text(std::string_view raw, const ParsedMessage& message, size_t max_bytes) {
  std::string out;
  Sink sink(out, max_bytes);
  add_body(sink, raw, message);
  return out;
}

std::string extract_header_text(const ParsedMessage& message, size_t max_bytes) {
  std::string out;
  Sink sink(out, max_bytes);
  for (const auto& f : message.top_headers) {
    if (sink.full()) break;
    sink.line(sanitize_utf8(f.name) + ": " + decode_rfc2047(unfold_trim(f.value)));
  }
  return out;
}

namespace {
void add_body(Sink& sink, std::string_view raw, const ParsedMessage& message) {
  // Depth-first, document order, with an explicit stack (tree depth is bounded by the parser, but
  // this also runs on trees read back from storage).
  std::vector<const Part*> stack{&message.root};
  while (!stack.empty() && !sink.full()) {
    const Part* p = stack.back();
    stack.pop_back();
    if (p->envelope && p != &message.root) add_envelope(sink, *p->envelope);
    if (!p->children.empty()) {
      for (auto it = p->children.rbegin(); it != p->children.rend(); ++it) stack.push_back(&*it);
    } else if (p->type == "text") {
      add_text_part(sink, raw, *p);
    }
  }
}
}  // namespace

}  // namespace roost::mail
