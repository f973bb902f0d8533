// libFuzzer entry point for the DATA and BDAT readers (smtpd/protocol/data_reader.hpp).
//
// Input: byte 0 picks the size limit, byte 1 the line limit, bytes 2-3 two split offsets; the rest
// is the client's byte stream after "354". Checked against an independent oracle:
// - the reader stops exactly after the first <CRLF>.<CRLF> (counting the CRLF that ended the DATA
//   command line), and never anywhere else (SMTP smuggling);
// - feeding the input in three pieces gives the same result as feeding it whole;
// - bare_line_ending / nul flags match a direct scan of the consumed bytes;
// - a clean message equals a reference line-by-line un-stuffing of the consumed bytes.
// The same stream is then fed to a BdatReader in chunks whose sizes come from the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtpd/protocol/data_reader.hpp"

namespace {

using namespace roost::smtp;

void require(bool ok) {
  if (!ok) std::abort();
}

struct Run {
  std::size_t consumed = 0;
  bool done = false;
  ContentFlags flags;
  std::string message;
  std::uint64_t size = 0;
};

Run feed(std::string_view in, std::size_t cut1, std::size_t cut2, DataLimits limits) {
  DataReader r(limits);
  Run out;
  std::size_t bounds[] = {cut1, cut2, in.size()};
  std::size_t start = 0;
  for (std::size_t end : bounds) {
    FeedResult f = r.feed(in.substr(start, end - start));
    require(f.consumed <= end - start);
    out.consumed += f.consumed;
    if (f.done) {
      out.done = true;
      break;
    }
    require(f.consumed == end - start);
    start = end;
  }
  require(out.done == r.done());
  out.flags = r.flags();
  out.message = r.message();
  out.size = r.size();
  return out;
}

// Reference un-stuffing of clean wire bytes (CRLF lines only, terminator removed):
// RFC 5321 §4.5.2, a line starting with "." loses that first ".".
std::string reference_unstuff(std::string_view wire) {
  std::string out;
  while (!wire.empty()) {
    std::size_t eol = wire.find("\r\n");
    require(eol != std::string_view::npos);
    std::string_view line = wire.substr(0, eol + 2);
    if (line[0] == '.') line.remove_prefix(1);
    out += line;
    wire.remove_prefix(eol + 2);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  DataLimits limits;
  limits.max_message_size = data[0] == 0xFF ? UINT64_MAX : data[0];
  limits.max_line_length = data[1] < 3 ? 1000 : data[1];
  std::string_view in(reinterpret_cast<const char*>(data + 4), size - 4);
  std::size_t cut1 = in.empty() ? 0 : data[2] % (in.size() + 1);
  std::size_t cut2 = in.empty() ? 0 : data[3] % (in.size() + 1);
  if (cut2 < cut1) std::swap(cut1, cut2);

  // Oracle for where DATA ends: the DATA command's CRLF precedes the first byte.
  std::string framed = "\r\n" + std::string(in);
  std::size_t marker = framed.find("\r\n.\r\n");
  const bool should_end = marker != std::string::npos;
  const std::size_t expected_consumed = should_end ? marker + 3 : in.size();

  Run whole = feed(in, in.size(), in.size(), limits);
  Run split = feed(in, cut1, cut2, limits);
  require(whole.done == should_end);
  require(whole.consumed == expected_consumed);
  require(split.done == whole.done && split.consumed == whole.consumed);
  require(split.flags == whole.flags && split.message == whole.message && split.size == whole.size);

  std::string_view used = in.substr(0, whole.consumed);
  bool bare = false;
  for (std::size_t i = 0; i < used.size(); ++i) {
    if (used[i] == '\n' && (i == 0 || used[i - 1] != '\r')) bare = true;
    if (used[i] == '\r' && (i + 1 == used.size() || used[i + 1] != '\n')) bare = true;
  }
  if (whole.done) require(whole.flags.bare_line_ending == bare);
  if (whole.done) require(whole.flags.nul == (used.find('\0') != std::string_view::npos));
  require(whole.flags.too_big == (whole.size > limits.max_message_size));
  if (!whole.flags.too_big) require(whole.message.size() == whole.size);
  if (whole.done && !whole.flags.any()) {
    require(used.size() >= 3 && used.substr(used.size() - 3) == ".\r\n");
    require(reference_unstuff(used.substr(0, used.size() - 3)) == whole.message);
  }

  // BDAT over the same bytes, chunked by the cut points.
  BdatReader b(limits);
  std::size_t chunks[] = {cut1, cut2 - cut1, in.size() - cut2};
  std::size_t pos = 0;
  for (int i = 0; i < 3; ++i) {
    b.start_chunk(chunks[i], i == 2);
    FeedResult f = b.feed(in.substr(pos));
    require(f.done && f.consumed == chunks[i]);
    pos += f.consumed;
  }
  require(b.complete() && b.size() == in.size());
  require(b.flags().too_big == (in.size() > limits.max_message_size));
  if (!b.flags().too_big) require(b.message() == in);
  if (b.flags().bare_line_ending == false) {
    for (std::size_t i = 0; i < in.size(); ++i) {
      require(!(in[i] == '\n' && (i == 0 || in[i - 1] != '\r')));
      require(!(in[i] == '\r' && (i + 1 == in.size() || in[i + 1] != '\n')));
    }
  }
  return 0;
}
