// Streaming transforms for RETR and TOP: a stored message goes through them chunk by chunk, so a message of
// any size is sent in bounded memory and the result does not depend on where the chunks are cut.
//
// Message bytes are stored exactly as delivered, with CRLF line ends (smtpd refuses bare CR/LF), so the
// octets RETR sends before dot-stuffing are the stored octets and LIST/STAT can report the stored size
// (RFC 1939 §5 LIST "exact size of the message in octets"; §11: byte-stuffed termination octets are not
// counted).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace roost::pop3 {

// RFC 1939 §3: lines of a multi-line response that begin with "." get another "." in front, and the
// response ends with ".\r\n". A line starts after every LF — a bare LF too, since clients that split on
// LF alone would otherwise take "\n.\r\n" inside a message for the end of the response.
class DotStuffer {
public:
    // Appends the stuffed form of `chunk` to `out`.
    void feed(std::string_view chunk, std::string& out);
    // Appends the terminator; first a CRLF if the data did not end with a line end (only possible for a
    // message stored without a final CRLF; see added_line_end()).
    void finish(std::string& out);
    // True after finish() had to add a CRLF: the wire form then has two octets more than the stored size.
    bool added_line_end() const { return added_line_end_; }
    std::uint64_t stuffed_dots() const { return stuffed_; }

private:
    bool at_line_start_ = true;
    bool added_line_end_ = false;
    std::uint64_t stuffed_ = 0;
};

// RFC 1939 §7 TOP msg n: the header, the blank line that ends it, then at most n lines of the body. Fed the
// message chunk by chunk, it returns the part of each chunk that belongs to the response; once done() is
// true the rest of the message is not needed. A message without a blank line is all header and is sent
// whole.
class TopFilter {
public:
    explicit TopFilter(std::uint64_t body_lines) : remaining_(body_lines) {}
    std::string_view feed(std::string_view chunk);
    bool done() const { return done_; }

private:
    std::uint64_t remaining_;
    bool in_body_ = false;
    bool done_ = false;
    std::uint64_t line_bytes_ = 0;  // bytes of the current line so far (header part)
    bool last_was_cr_ = false;
};

}  // namespace roost::pop3
