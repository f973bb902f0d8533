#include "pop3d/protocol/maildrop.hpp"

#include "pop3d/protocol/response.hpp"

namespace roost::pop3 {

Maildrop::Maildrop(std::uint32_t uidvalidity, std::vector<MaildropMessage> messages)
    : uidvalidity_(uidvalidity), messages_(std::move(messages)), deleted_(messages_.size(), false) {
    live_count_ = static_cast<std::uint32_t>(messages_.size());
    for (const auto& m : messages_) live_size_ += m.size;
}

Maildrop::Lookup Maildrop::lookup(std::uint32_t msg) const {
    if (msg == 0 || msg > messages_.size()) return Lookup::NoSuchMessage;
    return deleted_[msg - 1] ? Lookup::Deleted : Lookup::Found;
}

Maildrop::Lookup Maildrop::mark_deleted(std::uint32_t msg) {
    auto l = lookup(msg);
    if (l != Lookup::Found) return l;
    deleted_[msg - 1] = true;
    --live_count_;
    live_size_ -= messages_[msg - 1].size;
    return Lookup::Found;
}

void Maildrop::reset() {
    deleted_.assign(messages_.size(), false);
    live_count_ = static_cast<std::uint32_t>(messages_.size());
    live_size_ = 0;
    for (const auto& m : messages_) live_size_ += m.size;
}

std::vector<std::uint32_t> Maildrop::deleted_uids() const {
    std::vector<std::uint32_t> out;
    for (std::size_t i = 0; i < messages_.size(); ++i)
        if (deleted_[i]) out.push_back(messages_[i].uid);
    return out;
}

std::string Maildrop::unique_id(std::uint32_t msg) const { return pop3::unique_id(uidvalidity_, messages_[msg - 1].uid); }

}  // namespace roost::pop3
