// Queue administration shared by `roost queue ...` and the admin API's queue endpoints: one implementation
// of list / show / retry / delete / flush over the MailStore interface, and their text rendering.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/mail_store.hpp"

namespace roost::outbound {

class QueueAdmin {
public:
    explicit QueueAdmin(store::MailStore& store) : store_(store) {}

    store::Result<std::vector<store::QueueEntry>> list() { return store_.list_queue(); }
    store::Result<store::QueueEntry> show(std::int64_t id) { return store_.queue_entry(id); }
    // The queued message's header block (without the blank line that ends it), at most kMaxHeaderBytes;
    // read with blob_range, so a large message is not loaded whole.
    store::Result<std::string> headers(const store::QueueEntry& entry);
    static constexpr std::uint64_t kMaxHeaderBytes = 64 * 1024;
    // Due now; the running roost-smtpd hears of it at once (queue change notification).
    store::Status retry(std::int64_t id);
    store::Status flush() { return store_.retry_queue(0); }
    // Gone without a notice to the sender.
    store::Status remove(std::int64_t id) { return store_.delete_queue(id); }

private:
    store::MailStore& store_;
};

// A queue id as typed ("42"); nullopt unless it is a positive decimal number.
std::optional<std::int64_t> parse_queue_id(std::string_view text);

// One line per entry and one per recipient (`roost queue list`).
std::string render_queue_list(const std::vector<store::QueueEntry>& entries, std::int64_t now);
// Every field of one entry and, after a blank line, its message's header block (`roost queue show ID`).
std::string render_queue_entry(const store::QueueEntry& entry, std::string_view headers = {});

}  // namespace roost::outbound
