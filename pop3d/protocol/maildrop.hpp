// The maildrop as one POP3 session sees it (RFC 1939 §4-§6): a snapshot of INBOX taken at login, message
// numbers 1..n in UID order, deletion marks that only QUIT turns into removals.
//
// Pure state: no I/O. The session fills it from the store and asks the store to expunge deleted_uids()
// in the UPDATE state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace roost::pop3 {

struct MaildropMessage {
    std::uint32_t uid = 0;
    std::uint64_t size = 0;   // stored octets = octets RETR sends before dot-stuffing
    std::int64_t blob_id = 0;
};

class Maildrop {
public:
    Maildrop() = default;
    // `messages` in UID order (message number i is messages[i - 1]).
    Maildrop(std::uint32_t uidvalidity, std::vector<MaildropMessage> messages);

    // RFC 1939 §5 STAT: messages marked deleted are not counted in either total.
    std::uint32_t count() const { return live_count_; }
    std::uint64_t total_size() const { return live_size_; }
    // Highest message number of the snapshot (deleted ones included).
    std::uint32_t snapshot_size() const { return static_cast<std::uint32_t>(messages_.size()); }

    enum class Lookup { Found, NoSuchMessage, Deleted };
    Lookup lookup(std::uint32_t msg) const;
    // Only valid when lookup(msg) == Found (or Deleted).
    const MaildropMessage& message(std::uint32_t msg) const { return messages_[msg - 1]; }
    bool is_deleted(std::uint32_t msg) const { return deleted_[msg - 1]; }

    // RFC 1939 §5 DELE: marks; Found on success.
    Lookup mark_deleted(std::uint32_t msg);
    // RFC 1939 §5 RSET: unmarks everything.
    void reset();

    // UIDs of the marked messages, ascending (for the UPDATE state).
    std::vector<std::uint32_t> deleted_uids() const;
    std::string unique_id(std::uint32_t msg) const;

private:
    std::uint32_t uidvalidity_ = 0;
    std::vector<MaildropMessage> messages_;
    std::vector<bool> deleted_;
    std::uint32_t live_count_ = 0;
    std::uint64_t live_size_ = 0;
};

}  // namespace roost::pop3
