#include "pop3d/protocol/message_stream.hpp"

namespace roost::pop3 {

void DotStuffer::feed(std::string_view chunk, std::string& out) {
    std::size_t pos = 0;
    while (pos < chunk.size()) {
        if (at_line_start_ && chunk[pos] == '.') {
            out += '.';
            ++stuffed_;
        }
        auto lf = chunk.find('\n', pos);
        if (lf == std::string_view::npos) {
            out.append(chunk.substr(pos));
            at_line_start_ = false;
            return;
        }
        out.append(chunk.substr(pos, lf + 1 - pos));
        at_line_start_ = true;
        pos = lf + 1;
    }
}

void DotStuffer::finish(std::string& out) {
    if (!at_line_start_) {
        out += "\r\n";
        added_line_end_ = true;
        at_line_start_ = true;
    }
    out += ".\r\n";
}

std::string_view TopFilter::feed(std::string_view chunk) {
    if (done_) return {};
    for (std::size_t i = 0; i < chunk.size(); ++i) {
        char c = chunk[i];
        if (c != '\n') {
            if (!in_body_) {
                ++line_bytes_;
                last_was_cr_ = c == '\r';
            }
            continue;
        }
        if (!in_body_) {
            // An empty line ("\r\n", or a bare "\n") ends the header (RFC 5322 §2.1).
            bool empty = line_bytes_ == 0 || (line_bytes_ == 1 && last_was_cr_);
            line_bytes_ = 0;
            last_was_cr_ = false;
            if (!empty) continue;
            in_body_ = true;
        } else {
            --remaining_;
        }
        if (remaining_ == 0) {
            done_ = true;
            return chunk.substr(0, i + 1);
        }
    }
    return chunk;
}

}  // namespace roost::pop3
