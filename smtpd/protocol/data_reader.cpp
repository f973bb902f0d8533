// RFC 5321 §4.1.1.4 / §4.5.2 DATA and RFC 3030 BDAT readers. See data_reader.hpp for the
// smuggling-defence decision.
#include "smtpd/protocol/data_reader.hpp"

#include <algorithm>

namespace roost::smtp {

std::optional<Reply> ContentFlags::rejection() const {
  if (too_big) return replies::kMessageTooBig;
  if (bare_line_ending) return replies::kBareLineEnding;
  if (nul) return replies::kNulInMessage;
  if (line_too_long) return replies::kMessageLineTooLong;
  return std::nullopt;
}

// ---- DataReader ---------------------------------------------------------------------------

DataReader::DataReader(DataLimits limits) : limits_(limits) {}

void DataReader::reset() {
  state_ = State::LineStart;
  line_length_ = 0;
  size_ = 0;
  flags_ = {};
  message_.clear();
}

void DataReader::emit(char c) { emit(std::string_view(&c, 1)); }

void DataReader::emit(std::string_view s) {
  size_ += s.size();
  if (size_ > limits_.max_message_size) {
    // RFC 1870 §6.1 / RFC 5321 §4.5.3.1.10: keep reading to the end, answer 552 afterwards.
    if (!flags_.too_big) {
      flags_.too_big = true;
      std::string().swap(message_);  // release the memory now
    }
    return;
  }
  message_.append(s);
}

void DataReader::count_line(std::size_t n) {
  line_length_ += n;
  // RFC 5321 §4.5.3.1.6: the limit includes the CRLF.
  if (line_length_ + 2 > limits_.max_line_length) flags_.line_too_long = true;
}

void DataReader::middle(char c) {
  if (c == '\r') {  // maybe the start of CRLF; decided by the next byte
    state_ = State::Cr;
    return;
  }
  if (c == '\n') flags_.bare_line_ending = true;  // bare LF: content, never a line end
  if (c == '\0') flags_.nul = true;
  emit(c);
  count_line(1);
  state_ = State::Middle;
}

bool DataReader::step(char c) {
  switch (state_) {
    case State::LineStart:
      if (c == '.') {
        count_line(1);
        state_ = State::Dot;
        return false;
      }
      middle(c);
      return false;
    case State::Dot:
      if (c == '\r') {
        state_ = State::DotCr;
        return false;
      }
      // RFC 5321 §4.5.2: a line starting with "." and more characters loses the first ".".
      middle(c);
      return false;
    case State::DotCr:
      if (c == '\n') {  // <CRLF>.<CRLF>: the preceding CRLF is already in the message
        state_ = State::Done;
        return true;
      }
      flags_.bare_line_ending = true;  // ".\r" + other: the dot line was ".<CR>...": unstuff
      emit('\r');
      count_line(1);
      middle(c);
      return false;
    case State::Cr:
      if (c == '\n') {
        emit("\r\n");
        line_length_ = 0;
        state_ = State::LineStart;
        return false;
      }
      flags_.bare_line_ending = true;  // bare CR
      emit('\r');
      count_line(1);
      middle(c);
      return false;
    case State::Middle:
      middle(c);
      return false;
    case State::Done:
      return true;
  }
  return false;
}

FeedResult DataReader::feed(std::string_view in) {
  if (state_ == State::Done) return {0, true};
  std::size_t i = 0;
  while (i < in.size()) {
    if (state_ == State::Middle) {
      // Fast path: copy a run of ordinary octets at once.
      std::size_t j = i;
      while (j < in.size() && in[j] != '\r' && in[j] != '\n' && in[j] != '\0') ++j;
      if (j > i) {
        emit(in.substr(i, j - i));
        count_line(j - i);
        i = j;
        continue;
      }
    }
    if (step(in[i++])) return {i, true};
  }
  return {in.size(), false};
}

// ---- BdatReader ---------------------------------------------------------------------------

BdatReader::BdatReader(DataLimits limits) : limits_(limits) {}

void BdatReader::reset() {
  remaining_ = 0;
  last_ = false;
  pending_cr_ = false;
  line_length_ = 0;
  size_ = 0;
  flags_ = {};
  message_.clear();
}

void BdatReader::start_chunk(std::uint64_t size, bool last) {
  remaining_ = size;
  last_ = last;
  if (last && size == 0 && pending_cr_) flags_.bare_line_ending = true;
}

bool BdatReader::would_exceed(std::uint64_t size) const {
  return size > limits_.max_message_size || size_ > limits_.max_message_size - size;
}

FeedResult BdatReader::feed(std::string_view in) {
  if (remaining_ == 0) return {0, true};
  std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size()));
  std::string_view chunk = in.substr(0, n);
  // Same content rules as DATA, without dot handling; CR state carries across chunks.
  for (char c : chunk) {
    if (pending_cr_) {
      pending_cr_ = false;
      if (c == '\n') {
        line_length_ = 0;
        continue;
      }
      flags_.bare_line_ending = true;
      ++line_length_;
    }
    if (c == '\r') {
      pending_cr_ = true;
      continue;
    }
    if (c == '\n') flags_.bare_line_ending = true;
    if (c == '\0') flags_.nul = true;
    ++line_length_;
    if (line_length_ + 2 > limits_.max_line_length) flags_.line_too_long = true;
  }
  size_ += n;
  remaining_ -= n;
  if (size_ > limits_.max_message_size) {
    if (!flags_.too_big) {
      flags_.too_big = true;
      std::string().swap(message_);
    }
  } else {
    message_.append(chunk);
  }
  if (remaining_ == 0 && last_ && pending_cr_) flags_.bare_line_ending = true;  // ends in a bare CR
  return {n, remaining_ == 0};
}

}  // namespace roost::smtp
