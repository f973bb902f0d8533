#include "common/mail/header.hpp"

#include <iconv.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>

namespace roost::mail {
namespace {

constexpr bool is_wsp(char c) noexcept { return c == ' ' || c == '\t'; }
constexpr bool is_ws(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
constexpr char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }
constexpr char upper(char c) noexcept { return (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : c; }

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
  return s;
}

void append_utf8(std::string& out, uint32_t cp) {
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

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid (overlong, surrogate, > U+10FFFF).
size_t utf8_sequence_length(std::string_view s, size_t i) noexcept {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = s.size() - i;
  if (c >= 0xC2 && c <= 0xDF) return (n >= 2 && (b(i + 1) & 0xC0) == 0x80) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (n < 3 || (b(i + 1) & 0xC0) != 0x80 || (b(i + 2) & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (n < 4 || (b(i + 1) & 0xC0) != 0x80 || (b(i + 2) & 0xC0) != 0x80 ||
        (b(i + 3) & 0xC0) != 0x80)
      return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(i + 1) >= 0x90) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

std::string latin1_to_utf8(std::string_view data) {
  std::string out;
  out.reserve(data.size() + data.size() / 4);
  for (char c : data) append_utf8(out, static_cast<unsigned char>(c));
  return out;
}

// Text whose charset is unknown or claimed ASCII: keep it if it is UTF-8 (RFC 6532 allows raw
// UTF-8 in headers), else read it as Latin-1 so every byte still means something to a search.
std::string guess_to_utf8(std::string_view data) {
  if (is_valid_utf8(data)) return std::string(data);
  return latin1_to_utf8(data);
}

std::string normalize_charset(std::string_view cs) {
  cs = trim(cs);
  if (cs.size() >= 2 && cs.front() == '"' && cs.back() == '"') cs = trim(cs.substr(1, cs.size() - 2));
  return to_lower(cs);
}

// Keeps a few iconv descriptors per thread: iconv_open is far costlier than a short conversion.
class IconvCache {
 public:
  ~IconvCache() {
    for (auto& e : entries_)
      if (e.cd != reinterpret_cast<iconv_t>(-1)) iconv_close(e.cd);
  }
  iconv_t get(const std::string& charset) {
    for (auto& e : entries_)
      if (e.cd != reinterpret_cast<iconv_t>(-1) && e.name == charset) {
        iconv(e.cd, nullptr, nullptr, nullptr, nullptr);  // reset shift state
        return e.cd;
      }
    iconv_t cd = iconv_open("UTF-8", charset.c_str());
    if (cd == reinterpret_cast<iconv_t>(-1)) return cd;
    Entry& slot = entries_[next_++ % entries_.size()];
    if (slot.cd != reinterpret_cast<iconv_t>(-1)) iconv_close(slot.cd);
    slot.name = charset;
    slot.cd = cd;
    return cd;
  }

 private:
  struct Entry {
    std::string name;
    iconv_t cd = reinterpret_cast<iconv_t>(-1);
  };
  std::array<Entry, 8> entries_;
  size_t next_ = 0;
};

std::string iconv_name_for(const std::string& cs) {
  // Labels mail software uses that glibc does not know, or that a superset decodes better.
  static const std::map<std::string, std::string, std::less<>> aliases = {
      {"ks_c_5601-1987", "CP949"}, {"ks_c_5601", "CP949"},     {"euc-kr", "CP949"},
      {"gb2312", "GB18030"},       {"gbk", "GB18030"},         {"x-gbk", "GB18030"},
      {"cn-gb", "GB18030"},        {"shift_jis", "CP932"},     {"x-sjis", "CP932"},
      {"sjis", "CP932"},           {"ms932", "CP932"},         {"windows-31j", "CP932"},
      {"x-mac-roman", "MACINTOSH"}, {"macintosh", "MACINTOSH"}, {"tis-620", "CP874"},
      {"unicode-1-1-utf-7", "UTF-7"}, {"iso-8859-8-i", "ISO-8859-8"},
  };
  if (auto it = aliases.find(cs); it != aliases.end()) return it->second;
  return cs;
}

bool is_safe_charset_name(std::string_view cs) noexcept {
  if (cs.empty() || cs.size() > 40) return false;
  for (char c : cs) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':' || c == '+';
    if (!ok) return false;  // '/' would reach iconv's //TRANSLIT-style suffix parsing
  }
  return true;
}

std::string decode_q(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '_') {
      out += ' ';
    } else if (c == '=' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out += char(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

int b64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::string decode_b(std::string_view s) {
  std::string out;
  out.reserve(s.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    if (c == '=') break;
    int v = b64_value(c);
    if (v < 0) continue;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xFF);
    }
  }
  return out;
}

struct EncodedWord {
  size_t end = 0;  // index just past "?="
  std::string charset;
  std::string bytes;  // decoded octets, still in `charset`
};

// Recognizes an RFC 2047 §2 encoded-word starting at s[pos] ("=?"). Lenient on placement
// (may touch other text) but strict on the inside: no whitespace, known encoding letter.
std::optional<EncodedWord> match_encoded_word(std::string_view s, size_t pos) {
  if (s.compare(pos, 2, "=?") != 0) return std::nullopt;
  size_t cs_end = s.find('?', pos + 2);
  if (cs_end == std::string_view::npos || cs_end == pos + 2) return std::nullopt;
  if (cs_end + 2 >= s.size() || s[cs_end + 2] != '?') return std::nullopt;
  char enc = upper(s[cs_end + 1]);
  if (enc != 'B' && enc != 'Q') return std::nullopt;
  size_t text_begin = cs_end + 3;
  size_t text_end = s.find("?=", text_begin);
  if (text_end == std::string_view::npos) return std::nullopt;
  std::string_view charset = s.substr(pos + 2, cs_end - pos - 2);
  std::string_view text = s.substr(text_begin, text_end - text_begin);
  for (char c : charset)
    if (is_ws(c)) return std::nullopt;
  for (char c : text)
    if (is_ws(c)) return std::nullopt;
  if (auto star = charset.find('*'); star != std::string_view::npos) charset = charset.substr(0, star);
  EncodedWord w;
  w.end = text_end + 2;
  w.charset = normalize_charset(charset);
  w.bytes = enc == 'B' ? decode_b(text) : decode_q(text);
  return w;
}

struct Cursor {
  std::string_view s;
  size_t i = 0;
  bool done() const noexcept { return i >= s.size(); }
  char peek() const noexcept { return s[i]; }

  // Skips whitespace and (nested) comments. Nesting is counted, not recursed.
  void skip_cfws() noexcept {
    while (i < s.size()) {
      char c = s[i];
      if (is_ws(c)) {
        ++i;
      } else if (c == '(') {
        size_t depth = 0;
        while (i < s.size()) {
          char d = s[i++];
          if (d == '\\' && i < s.size()) {
            ++i;
          } else if (d == '(') {
            ++depth;
          } else if (d == ')') {
            if (--depth == 0) break;
          }
        }
      } else {
        break;
      }
    }
  }

  // After the opening quote. Unterminated strings run to the end. Folding removed.
  std::string quoted_string() {
    std::string out;
    ++i;  // opening quote
    while (i < s.size()) {
      char c = s[i++];
      if (c == '"') break;
      if (c == '\\' && i < s.size()) {
        out += s[i++];
      } else if (c != '\r' && c != '\n') {
        out += c;
      }
    }
    return out;
  }
};

struct RawParam {
  std::string name;  // lower-case, as written (may contain '*')
  std::string value;
};

std::vector<RawParam> parse_raw_params(std::string_view value) {
  std::vector<RawParam> out;
  Cursor cur{value};
  while (!cur.done()) {
    cur.skip_cfws();
    if (cur.done()) break;
    if (cur.peek() == ';') {
      ++cur.i;
      continue;
    }
    size_t name_begin = cur.i;
    while (!cur.done()) {
      char c = cur.peek();
      if (c == '=' || c == ';' || is_ws(c) || c == '(' || c == '"') break;
      ++cur.i;
    }
    std::string name = to_lower(value.substr(name_begin, cur.i - name_begin));
    cur.skip_cfws();
    if (name.empty() || cur.done() || cur.peek() != '=') {
      // Garbage: skip to the next ';' (quotes respected) and resynchronize.
      if (name.empty() && !cur.done() && cur.peek() == '"') {
        cur.quoted_string();
        continue;
      }
      if (!cur.done() && cur.peek() != ';' && cur.i == name_begin) ++cur.i;
      continue;
    }
    ++cur.i;  // '='
    cur.skip_cfws();
    std::string val;
    if (!cur.done() && cur.peek() == '"') {
      val = cur.quoted_string();
    } else {
      // Lenient: unquoted values with spaces (`name=my file.txt`) are common; a comment or ';'
      // ends the value.
      size_t b = cur.i;
      while (!cur.done() && cur.peek() != ';' && cur.peek() != '(' && cur.peek() != '"') ++cur.i;
      std::string_view raw = trim(value.substr(b, cur.i - b));
      val.reserve(raw.size());
      for (char c : raw)
        if (c != '\r' && c != '\n') val += c;
    }
    out.push_back({std::move(name), std::move(val)});
    // Skip trailing junk up to the next ';'.
    while (!cur.done() && cur.peek() != ';') {
      if (cur.peek() == '(') {
        cur.skip_cfws();
      } else if (cur.peek() == '"') {
        cur.quoted_string();
      } else {
        ++cur.i;
      }
    }
  }
  return out;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += char(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

struct Section {
  unsigned number;
  bool encoded;
  std::string value;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = upper(c);
  return out;
}

std::vector<HeaderFieldView> split_header_fields(std::string_view block, size_t max_fields) {
  std::vector<HeaderFieldView> out;
  size_t pos = 0;
  const size_t n = block.size();
  size_t value_begin = 0;  // of the field being built
  while (pos < n) {
    size_t lf = block.find('\n', pos);
    size_t line_end = lf == std::string_view::npos ? n : lf + 1;
    size_t content_end = lf == std::string_view::npos ? n : lf;
    if (content_end > pos && block[content_end - 1] == '\r') --content_end;
    if (content_end == pos) break;  // the blank line that ends the header
    if (is_wsp(block[pos]) && !out.empty()) {
      // RFC 5322 §2.2.3 folding: this line continues the previous field.
      HeaderFieldView& f = out.back();
      f.value = block.substr(value_begin, content_end - value_begin);
      f.size = line_end - f.offset;
    } else {
      if (out.size() >= max_fields) break;
      std::string_view line = block.substr(pos, content_end - pos);
      size_t colon = line.find(':');
      HeaderFieldView f;
      f.offset = pos;
      f.size = line_end - pos;
      if (colon == std::string_view::npos) {
        f.name = trim(line);
        value_begin = content_end;
      } else {
        std::string_view name = line.substr(0, colon);
        while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
        f.name = name;
        value_begin = pos + colon + 1;
      }
      f.value = block.substr(value_begin, content_end - value_begin);
      out.push_back(f);
    }
    pos = line_end;
  }
  return out;
}

std::string unfold(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value)
    if (c != '\r' && c != '\n') out += c;
  return out;
}

std::string unfold_trim(std::string_view value) { return unfold(trim(value)); }

const HeaderField* find_field(const std::vector<HeaderField>& fields, std::string_view name) noexcept {
  for (const auto& f : fields)
    if (iequals(f.name, name)) return &f;
  return nullptr;
}

const HeaderFieldView* find_field(const std::vector<HeaderFieldView>& fields,
                                  std::string_view name) noexcept {
  for (const auto& f : fields)
    if (iequals(f.name, name)) return &f;
  return nullptr;
}

bool is_valid_utf8(std::string_view data) noexcept {
  for (size_t i = 0; i < data.size();) {
    if (static_cast<unsigned char>(data[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t len = utf8_sequence_length(data, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string sanitize_utf8(std::string_view data) {
  std::string out;
  out.reserve(data.size());
  for (size_t i = 0; i < data.size();) {
    size_t len = utf8_sequence_length(data, i);
    if (len == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(data.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::optional<std::string> charset_to_utf8(std::string_view data, std::string_view charset) {
  std::string cs = normalize_charset(charset);
  if (cs == "utf-8" || cs == "utf8") return sanitize_utf8(data);
  if (cs == "us-ascii" || cs == "ascii" || cs == "ansi_x3.4-1968" || cs == "unknown-8bit" ||
      cs == "x-unknown" || cs == "default")
    return guess_to_utf8(data);
  if (cs == "iso-8859-1" || cs == "iso8859-1" || cs == "latin1" || cs == "l1" ||
      cs == "iso_8859-1")
    return latin1_to_utf8(data);
  if (!is_safe_charset_name(cs)) return std::nullopt;

  thread_local IconvCache cache;
  iconv_t cd = cache.get(iconv_name_for(cs));
  if (cd == reinterpret_cast<iconv_t>(-1)) return std::nullopt;

  std::string out;
  out.resize(data.size() * 2 + 16);
  char* in = const_cast<char*>(data.data());
  size_t in_left = data.size();
  size_t used = 0;
  auto run = [&](char** inp, size_t* in_leftp) -> size_t {
    char* outp = out.data() + used;
    size_t out_left = out.size() - used;
    size_t r = iconv(cd, inp, in_leftp, &outp, &out_left);
    used = out.size() - out_left;
    return r;
  };
  while (in_left > 0) {
    if (run(&in, &in_left) != static_cast<size_t>(-1)) break;
    if (errno == E2BIG) {
      out.resize(out.size() * 2 + 16);
    } else if (errno == EILSEQ) {
      out.resize(std::max(out.size(), used + 16));
      out.replace(used, kReplacement.size(), kReplacement);
      used += kReplacement.size();
      ++in;
      --in_left;
    } else {  // EINVAL: truncated multibyte sequence at the end
      out.resize(std::max(out.size(), used + 16));
      out.replace(used, kReplacement.size(), kReplacement);
      used += kReplacement.size();
      break;
    }
    if (out.size() - used < 16) out.resize(out.size() * 2 + 16);
  }
  // Flush any pending shift state (ISO-2022-*).
  for (int attempts = 0; attempts < 4; ++attempts) {
    if (out.size() - used < 64) out.resize(out.size() + 64);
    if (run(nullptr, nullptr) != static_cast<size_t>(-1) || errno != E2BIG) break;
  }
  out.resize(used);
  return out;
}

std::string decode_rfc2047(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  // Adjacent encoded-words in one charset are joined before conversion: mailers split multi-byte
  // characters across words (RFC 2047 §5 forbids it, yet it happens).
  std::string pending_bytes, pending_charset;
  size_t pending_raw_begin = 0, pending_raw_end = 0;
  bool have_pending = false;
  auto flush = [&] {
    if (!have_pending) return;
    if (auto text = charset_to_utf8(pending_bytes, pending_charset)) {
      out += *text;
    } else {
      out += guess_to_utf8(unfold(value.substr(pending_raw_begin, pending_raw_end - pending_raw_begin)));
    }
    have_pending = false;
    pending_bytes.clear();
  };

  size_t i = 0;
  size_t plain_begin = 0;  // start of not-yet-emitted plain text
  bool after_word = false;
  while (i < value.size()) {
    if (value[i] == '=' && i + 1 < value.size() && value[i + 1] == '?') {
      if (auto w = match_encoded_word(value, i)) {
        std::string_view between = value.substr(plain_begin, i - plain_begin);
        bool only_ws = std::all_of(between.begin(), between.end(), is_ws);
        if (after_word && only_ws) {
          // RFC 2047 §6.2: whitespace between adjacent encoded-words is not displayed.
          if (have_pending && w->charset == pending_charset) {
            pending_bytes += w->bytes;
            pending_raw_end = w->end;
            i = plain_begin = w->end;
            continue;
          }
          flush();
        } else {
          flush();
          out += guess_to_utf8(unfold(between));
        }
        have_pending = true;
        pending_charset = w->charset;
        pending_bytes = std::move(w->bytes);
        pending_raw_begin = i;
        pending_raw_end = w->end;
        after_word = true;
        i = plain_begin = w->end;
        continue;
      }
    }
    ++i;
  }
  flush();
  out += guess_to_utf8(unfold(value.substr(plain_begin)));
  return std::string(trim(out));
}

Params parse_parameters(std::string_view value) {
  std::vector<RawParam> raw = parse_raw_params(value);

  // RFC 2231 §3/§4: group `name*N[*]` sections and `name*` by base name, in order of first use.
  struct Group {
    std::string base;
    std::string plain;  // value of a plain `name=` param
    bool has_plain = false;
    std::vector<Section> sections;
    bool extended = false;
  };
  std::vector<Group> groups;
  auto group_for = [&](const std::string& base) -> Group& {
    for (auto& g : groups)
      if (g.base == base) return g;
    groups.push_back({base, {}, false, {}, false});
    return groups.back();
  };

  for (auto& p : raw) {
    size_t star = p.name.find('*');
    if (star == std::string::npos || star == 0) {
      Group& g = group_for(p.name);
      if (!g.has_plain) {
        g.has_plain = true;
        g.plain = std::move(p.value);
      }
      continue;
    }
    std::string base = p.name.substr(0, star);
    std::string_view rest = std::string_view(p.name).substr(star + 1);
    bool encoded = false;
    unsigned number = 0;
    if (rest.empty()) {
      encoded = true;  // name*=charset'lang'value
    } else {
      if (rest.back() == '*') {
        encoded = true;
        rest.remove_suffix(1);
      }
      bool digits = !rest.empty() && rest.size() <= 4 &&
                    std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!digits) {  // not RFC 2231 after all: keep literally
        Group& g = group_for(p.name);
        if (!g.has_plain) {
          g.has_plain = true;
          g.plain = std::move(p.value);
        }
        continue;
      }
      for (char c : rest) number = number * 10 + unsigned(c - '0');
    }
    Group& g = group_for(base);
    g.extended = true;
    bool dup = std::any_of(g.sections.begin(), g.sections.end(),
                           [&](const Section& s) { return s.number == number; });
    if (!dup) g.sections.push_back({number, encoded, std::move(p.value)});
  }

  Params out;
  out.reserve(groups.size());
  for (auto& g : groups) {
    if (!g.extended) {
      out.emplace_back(std::move(g.base), std::move(g.plain));
      continue;
    }
    // The extended form wins over a plain fallback of the same name (as RFC 6266 §4.3 advises).
    std::sort(g.sections.begin(), g.sections.end(),
              [](const Section& a, const Section& b) { return a.number < b.number; });
    std::string charset;
    std::string bytes;
    for (size_t k = 0; k < g.sections.size(); ++k) {
      Section& s = g.sections[k];
      std::string_view v = s.value;
      if (k == 0 && s.encoded) {
        // charset'language'text — only the first section carries them (RFC 2231 §4).
        size_t q1 = v.find('\'');
        size_t q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
        if (q2 != std::string_view::npos) {
          charset = normalize_charset(v.substr(0, q1));
          v = v.substr(q2 + 1);
        }
      }
      bytes += s.encoded ? percent_decode(v) : std::string(v);
    }
    std::optional<std::string> text;
    if (!charset.empty()) text = charset_to_utf8(bytes, charset);
    out.emplace_back(std::move(g.base), text ? std::move(*text) : guess_to_utf8(bytes));
  }
  return out;
}

ContentType parse_content_type(std::string_view value) {
  ContentType ct;
  Cursor cur{value};
  cur.skip_cfws();
  size_t b = cur.i;
  while (!cur.done() && cur.peek() != '/' && cur.peek() != ';' && !is_ws(cur.peek()) &&
         cur.peek() != '(')
    ++cur.i;
  std::string type = to_lower(value.substr(b, cur.i - b));
  cur.skip_cfws();
  std::string subtype;
  if (!cur.done() && cur.peek() == '/') {
    ++cur.i;
    cur.skip_cfws();
    b = cur.i;
    while (!cur.done() && cur.peek() != ';' && !is_ws(cur.peek()) && cur.peek() != '(' &&
           cur.peek() != '"')
      ++cur.i;
    subtype = to_lower(value.substr(b, cur.i - b));
  }
  if (!type.empty() && !subtype.empty()) {
    ct.type = std::move(type);
    ct.subtype = std::move(subtype);
    ct.valid = true;
  }
  size_t semi = value.find(';', cur.i);
  if (semi != std::string_view::npos) ct.params = parse_parameters(value.substr(semi + 1));
  return ct;
}

ContentDisposition parse_content_disposition(std::string_view value) {
  ContentDisposition cd;
  Cursor cur{value};
  cur.skip_cfws();
  size_t b = cur.i;
  while (!cur.done() && cur.peek() != ';' && !is_ws(cur.peek()) && cur.peek() != '(') ++cur.i;
  cd.type = to_lower(value.substr(b, cur.i - b));
  size_t semi = value.find(';', cur.i);
  if (semi != std::string_view::npos) cd.params = parse_parameters(value.substr(semi + 1));
  return cd;
}

const std::string* find_param(const Params& params, std::string_view name) noexcept {
  for (const auto& [k, v] : params)
    if (iequals(k, name)) return &v;
  return nullptr;
}

std::string strip_cfws(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  Cursor cur{value};
  while (!cur.done()) {
    char c = cur.peek();
    if (c == '(') {
      cur.skip_cfws();
      out += ' ';
    } else if (c == '"') {
      size_t b = cur.i;
      cur.quoted_string();
      out.append(value.substr(b, cur.i - b));
    } else {
      if (c != '\r' && c != '\n') out += c;
      ++cur.i;
    }
  }
  return std::string(trim(out));
}

}  // namespace roost::mail
