#include "smtpd/outbound/queue_admin.hpp"

#include <sstream>

#include "smtpd/outbound/dsn.hpp"

namespace roost::outbound {

store::Status QueueAdmin::retry(std::int64_t id) {
    if (id <= 0) return store::make_error(store::Errc::Invalid, "invalid queue id " + std::to_string(id));
    return store_.retry_queue(id);
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

std::string render_queue_entry(const store::QueueEntry& e) {
    std::ostringstream o;
    o << "id: " << e.id << "\n"
      << "from: <" << e.sender << ">\n"
      << "size: " << e.size << "\n"
      << "queued: " << rfc5322_date(e.created) << "\n"
      << "attempts: " << e.attempts << "\n"
      << "next attempt: " << rfc5322_date(e.next_attempt) << "\n";
    if (!e.envid.empty()) o << "envid: " << e.envid << "\n";
    if (!e.ret.empty()) o << "ret: " << e.ret << "\n";
    if (!e.last_error.empty()) o << "last error: " << e.last_error << "\n";
    if (e.delay_notified) o << "delay notice: sent\n";
    for (auto& r : e.recipients) {
        o << "recipient: <" << r.address << "> " << r.status;
        if (!r.remote_mta.empty()) o << " via " << r.remote_mta;
        if (!r.last_reply.empty()) o << ": " << r.last_reply;
        o << "\n";
    }
    return o.str();
}

}  // namespace roost::outbound
