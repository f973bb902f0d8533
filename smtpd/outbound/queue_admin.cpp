#include "smtpd/outbound/queue_admin.hpp"

#include <sstream>

#include "smtpd/outbound/dsn.hpp"

namespace roost::outbound {

store::Status QueueAdmin::retry(std::int64_t id) {
    if (id <= 0) return store::make_error(store::Errc::Invalid, "invalid queue id " + std::to_string(id));
    return store_.retry_queue(id);
}

store::Result<std::string> QueueAdmin::headers(const store::QueueEntry& entry) {
    auto head = store_.blob_range(entry.blob_id, 0, kMaxHeaderBytes);
    if (!head) return head;
    // RFC 5322 §2.1: the header section ends at the first empty line (CRLF, or a bare LF in stored mail).
    auto end = head->find("\r\n\r\n");
    if (end != std::string::npos) head->resize(end + 2);
    else if (auto lf = head->find("\n\n"); lf != std::string::npos) head->resize(lf + 1);
    return head;
}

std::optional<std::int64_t> parse_queue_id(std::string_view text) {
    if (text.empty() || text.size() > 18) return std::nullopt;
    std::int64_t v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    if (v <= 0) return std::nullopt;
    return v;
}

namespace {

std::string when(std::int64_t t, std::int64_t now) {
    if (t <= now) return "now";
    auto d = t - now;
    if (d < 120) return "in " + std::to_string(d) + "s";
    if (d < 7200) return "in " + std::to_string(d / 60) + "m";
    return "in " + std::to_string(d / 3600) + "h";
}

}  // namespace

std::string render_queue_list(const std::vector<store::QueueEntry>& entries, std::int64_t now) {
    std::ostringstream o;
    if (entries.empty()) return "queue is empty\n";
    for (auto& e : entries) {
        o << e.id << "  " << e.size << " bytes  from <" << e.sender << ">  attempts " << e.attempts << "  next "
          << when(e.next_attempt, now);
        if (e.lease_until > now) o << "  (being delivered)";
        o << "\n";
        if (!e.last_error.empty()) o << "    last error: " << e.last_error << "\n";
        for (auto& r : e.recipients) o << "    to <" << r.address << ">\n";
    }
    return o.str();
}

std::string render_queue_entry(const store::QueueEntry& e, std::string_view headers) {
    std::ostringstream o;
    o << "id: " << e.id << "\n"
      << "from: <" << e.sender << ">\n"
      << "size: " << e.size << "\n"
      << "queued: " << rfc5322_date(e.created) << "\n"
      << "attempts: " << e.attempts << "\n"
      << "next attempt: " << rfc5322_date(e.next_attempt) << "\n";
    if (!e.envid.empty()) o << "envid: " << e.envid << "\n";
    if (!e.ret.empty()) o << "ret: " << e.ret << "\n";
    if (!e.subject.empty()) o << "subject: " << e.subject << "\n";
    if (!e.last_error.empty()) o << "last error: " << e.last_error << "\n";
    if (e.delay_notified) o << "delay notice: sent\n";
    for (auto& r : e.recipients) {
        o << "recipient: <" << r.address << "> " << r.status;
        if (!r.remote_mta.empty()) o << " via " << r.remote_mta;
        if (!r.last_reply.empty()) o << ": " << r.last_reply;
        o << "\n";
    }
    if (!headers.empty()) {
        o << "\n";
        for (char c : headers)
            if (c != '\r') o << c;
    }
    return o.str();
}

}  // namespace roost::outbound
