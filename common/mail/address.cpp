#include "common/mail/address.hpp"

#include "common/mail/header.hpp"

namespace roost::mail {
namespace {

constexpr bool is_ws(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
constexpr bool is_special(char c) noexcept {
  switch (c) {
    case '(': case ')': case '<': case '>': case '[': case ':': case ';': case '@': case ',':
    case '.': case '"':
      return true;
    default:
      return false;
  }
}

struct Token {
  enum Kind { Word, Quoted, DomainLiteral, Special, Comment, End } kind = End;
  char special = 0;
  std::string text;
  bool space_before = false;  // whitespace or a comment separated it from the previous token
};

class Tokenizer {
 public:
  explicit Tokenizer(std::string_view s) : s_(s) {}

  Token next() {
    Token t;
    while (i_ < s_.size() && is_ws(s_[i_])) {
      ++i_;
      t.space_before = true;
    }
    if (pending_space_) {
      t.space_before = true;
      pending_space_ = false;
    }
    if (i_ >= s_.size()) return t;
    char c = s_[i_];
    if (c == '(') {
      t.kind = Token::Comment;
      ++i_;
      size_t depth = 1;  // nesting counted, never recursed
      while (i_ < s_.size()) {
        char d = s_[i_++];
        if (d == '\\' && i_ < s_.size()) {
          t.text += s_[i_++];
          continue;
        }
        if (d == '(') ++depth;
        if (d == ')' && --depth == 0) break;
        if (d != '\r' && d != '\n') t.text += d;
      }
      pending_space_ = true;  // a comment separates the tokens around it
    } else if (c == '"') {
      t.kind = Token::Quoted;
      ++i_;
      while (i_ < s_.size()) {
        char d = s_[i_++];
        if (d == '"') break;
        if (d == '\\' && i_ < s_.size()) {
          t.text += s_[i_++];
        } else if (d != '\r' && d != '\n') {
          t.text += d;
        }
      }
    } else if (c == '[') {
      t.kind = Token::DomainLiteral;
      size_t end = s_.find(']', i_);
      end = end == std::string_view::npos ? s_.size() : end + 1;
      for (char d : s_.substr(i_, end - i_))
        if (d != '\r' && d != '\n') t.text += d;
      i_ = end;
    } else if (is_special(c)) {
      t.kind = Token::Special;
      t.special = c;
      ++i_;
    } else {
      t.kind = Token::Word;
      size_t b = i_;
      while (i_ < s_.size() && !is_ws(s_[i_]) && !is_special(s_[i_])) ++i_;
      t.text.assign(s_.substr(b, i_ - b));
    }
    return t;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
  bool pending_space_ = false;
};

bool is_char(const Token& t, char c) noexcept { return t.kind == Token::Special && t.special == c; }

std::string token_text(const Token& t) {
  if (t.kind == Token::Special) return std::string(1, t.special);
  return t.text;
}

// Phrase words joined the way they were written: one space where the source had whitespace.
std::string join_phrase(const std::vector<Token>& tokens, size_t begin, size_t end) {
  std::string out;
  for (size_t k = begin; k < end; ++k) {
    if (!out.empty() && tokens[k].space_before) out += ' ';
    out += token_text(tokens[k]);
  }
  return out;
}

std::string join_tight(const std::vector<Token>& tokens, size_t begin, size_t end) {
  std::string out;
  for (size_t k = begin; k < end; ++k) out += token_text(tokens[k]);
  return out;
}

std::string trim_copy(std::string_view s) {
  while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
  return std::string(s);
}

class ListParser {
 public:
  ListParser(std::string_view value, size_t max) : tok_(value), max_(max) {}

  std::vector<Address> run() {
    for (;;) {
      Token t = tok_.next();
      if (t.kind == Token::End) break;
      if (out_.size() >= max_) break;
      feed(std::move(t));
    }
    finish_address();
    if (in_group_) out_.push_back(group_end());  // RFC 5322 §3.4 group missing its ';'
    return std::move(out_);
  }

 private:
  static Address group_end() {
    Address a;
    a.group_end = true;
    return a;
  }

  void feed(Token t) {
    switch (t.kind) {
      case Token::Comment:
        if (!in_angle_ && comment_.empty()) comment_ = trim_copy(t.text);
        return;
      case Token::Special:
        break;
      default:
        (in_angle_ ? angle_ : words_).push_back(std::move(t));
        return;
    }
    switch (t.special) {
      case ',':
        // Inside <...> a comma only separates obs-route domains: "<@a,@b:user@host>".
        if (in_angle_ && !angle_.empty() && is_char(angle_.front(), '@') && !route_closed()) {
          angle_.push_back(std::move(t));
          return;
        }
        finish_address();
        return;
      case ';':
        finish_address();
        if (in_group_) {
          out_.push_back(group_end());
          in_group_ = false;
        }
        return;
      case ':':
        if (in_angle_) {
          angle_.push_back(std::move(t));
        } else if (!had_angle_ && !in_group_) {
          Address start;  // RFC 3501 §7.4.2: group name goes in the mailbox field
          start.mailbox = join_phrase(words_, 0, words_.size());
          start.group_start = true;
          out_.push_back(std::move(start));
          in_group_ = true;
          reset();
        }
        return;  // a stray ':' elsewhere is junk
      case '<':
        if (!had_angle_) {
          in_angle_ = true;
          had_angle_ = true;
        }
        return;
      case '>':
        in_angle_ = false;
        return;
      default:
        (in_angle_ ? angle_ : words_).push_back(std::move(t));
        return;
    }
  }

  bool route_closed() const noexcept {
    for (const auto& t : angle_)
      if (is_char(t, ':')) return true;
    return false;
  }

  void reset() {
    words_.clear();
    angle_.clear();
    comment_.clear();
    in_angle_ = had_angle_ = false;
  }

  // addr-spec = local-part "@" domain, from `tokens`; words before the local part (junk like
  // `John Doe john@example.com`) are returned as a phrase.
  static void split_addr_spec(const std::vector<Token>& tokens, size_t begin, Address& a,
                              std::string* leading_phrase) {
    size_t at = std::string::npos;
    for (size_t k = tokens.size(); k-- > begin;)
      if (is_char(tokens[k], '@')) {
        at = k;
        break;
      }
    size_t local_end = at == std::string::npos ? tokens.size() : at;
    size_t local_begin = begin;
    for (size_t k = local_end; k-- > begin + 1;)
      if (tokens[k].space_before && !is_char(tokens[k], '.') && !is_char(tokens[k - 1], '.')) {
        local_begin = k;
        break;
      }
    if (leading_phrase && local_begin > begin) *leading_phrase = join_phrase(tokens, begin, local_begin);
    a.mailbox = join_tight(tokens, local_begin, local_end);
    if (at != std::string::npos) a.host = join_tight(tokens, at + 1, tokens.size());
  }

  void finish_address() {
    Address a;
    if (had_angle_) {
      a.name = join_phrase(words_, 0, words_.size());
      size_t begin = 0;
      if (!angle_.empty() && is_char(angle_.front(), '@')) {
        for (size_t k = 0; k < angle_.size(); ++k)
          if (is_char(angle_[k], ':')) {
            a.route = join_tight(angle_, 0, k);
            begin = k + 1;
            break;
          }
      }
      split_addr_spec(angle_, begin, a, nullptr);
      if (a.name.empty()) a.name = comment_;
    } else {
      std::string phrase;
      split_addr_spec(words_, 0, a, &phrase);
      a.name = phrase.empty() ? comment_ : phrase;
    }
    // A lone comment or phrase ("(the end of the group)", ",,") is not an address.
    bool empty = a.mailbox.empty() && a.host.empty() && a.route.empty();
    reset();
    if (!empty) out_.push_back(std::move(a));
  }

  Tokenizer tok_;
  size_t max_;
  std::vector<Address> out_;
  std::vector<Token> words_, angle_;
  std::string comment_;
  bool in_angle_ = false, had_angle_ = false, in_group_ = false;
};

}  // namespace

std::vector<Address> parse_address_list(std::string_view value, size_t max_addresses) {
  return ListParser(value, max_addresses).run();
}

std::string display_name_utf8(const Address& address) { return decode_rfc2047(address.name); }

}  // namespace roost::mail
