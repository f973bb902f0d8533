// RFC 5256 SORT and THREAD (ORDEREDSUBJECT, REFERENCES), RFC 5957 DISPLAYFROM / DISPLAYTO, over the
// messages a SEARCH selected. Pure: the caller runs the search and passes the matching messages with
// their parsed headers (SearchMessage::parsed; null counts as a message without headers).
//
// String keys compare with the i;ascii-casemap collation (RFC 5256 §"Internationalization
// Considerations"): ASCII letters folded to upper case, then octet order; the empty string first.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "imapd/protocol/command.hpp"
#include "imapd/protocol/search.hpp"

namespace roost::imap {

// RFC 5256 §2.1 base subject, in UTF-8 (encoded-words decoded, whitespace collapsed, reply /
// forward markers and [blobs] removed). `reply_or_forward`: extraction removed a subj-refwd, a
// "(fwd)" trailer, or a [fwd: …] wrapper (used by THREAD=REFERENCES, §2.4 step 5).
struct BaseSubject {
    std::string text;
    bool reply_or_forward = false;
};
BaseSubject extract_base_subject(std::string_view subject_raw);
std::string base_subject(std::string_view subject_raw);

// RFC 5256 §3 sort-key, RFC 5957 §3 DISPLAYFROM / DISPLAYTO; `reverse` is a preceding REVERSE.

// The messages in sorted order, as UIDs (`uids`, for UID SORT) or sequence numbers. Ties, after all
// criteria, go by sequence number (RFC 5256 §3), never reversed.
std::vector<std::uint32_t> sort_messages(std::span<const SortCriterion> criteria,
                                         std::span<const SearchMessage> messages, bool uids);


// A thread forest, flat (no recursion to build, destroy or render it however deep a reply chain
// is). `id` is the UID or sequence number; 0 is a dummy parent (a message not in the result).
struct ThreadForest {
    struct Node {
        std::uint32_t id = 0;
        std::vector<std::size_t> children;  // indices into nodes, in order
    };
    std::vector<Node> nodes;
    std::vector<std::size_t> roots;  // indices into nodes, in order
};

ThreadForest thread_messages(ThreadAlgorithm algorithm, std::span<const SearchMessage> messages, bool uids);

// RFC 5256 §4 thread-list: "(1 2)(3 (4)(5))" — a node with one child continues the chain, a node
// with several lists each child in parentheses; dummies have no number: "((6)(7))". No leading
// "THREAD" and no leading space; empty for an empty forest.
std::string render_threads(const ThreadForest& forest);

// thread_messages + render_threads.
std::string thread_response(ThreadAlgorithm algorithm, std::span<const SearchMessage> messages, bool uids);

}  // namespace roost::imap
