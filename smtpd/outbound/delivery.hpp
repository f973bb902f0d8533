// DeliveryService — the outbound half of roost-smtpd: it takes due entries from the persistent queue (leased,
// so that a crash mid-delivery means a retry, never a loss), groups each entry's recipients by destination
// domain, finds the hosts (MX, implicit MX, null MX; or the configured smarthost), DKIM-signs the message
// and hands it over with smtp_client; then it records each recipient's outcome, reschedules what failed
// temporarily (exponential back-off up to the queue lifetime) and returns DSNs to the sender (RFC 3464) in
// the same transaction — never for a message whose reverse-path is empty (RFC 5321 §4.5.4, RFC 3461 §6.2).
//
// Runs on its own thread and io_context, beside the listeners: a slow remote host never delays an inbound
// session. Concurrency is bounded in total and per destination (`[queue] max_connections`,
// `max_per_domain`).
#pragma once

#include <memory>

#include "common/core/config.hpp"
#include "storage/mail_store.hpp"

namespace roost::outbound {

class DeliveryService {
public:
    DeliveryService(const Config& config, store::MailStore& store);
    ~DeliveryService();
    DeliveryService(const DeliveryService&) = delete;
    DeliveryService& operator=(const DeliveryService&) = delete;

    // Starts the worker thread. Throws when the DNS resolver cannot be set up.
    void start();
    // Stops claiming, abandons what is in flight (its leases make it due again on the next start) and joins.
    void stop();

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace roost::outbound
