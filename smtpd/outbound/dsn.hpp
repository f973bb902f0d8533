// Delivery status notifications (RFC 3464 multipart/report; RFC 3461 NOTIFY/RET/ENVID/ORCPT), pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace roost::outbound {

// RFC 3461 §4.1 NOTIFY bits as smtpd/protocol stores them (store::QueueRecipient::notify).
enum NotifyBits : unsigned {
    kNotifyNever = 1u << 0,
    kNotifySuccess = 1u << 1,
    kNotifyFailure = 1u << 2,
    kNotifyDelay = 1u << 3,
};

enum class DsnAction { Failed, Delayed, Relayed, Delivered };

// RFC 3461 §4.1: no NOTIFY means "FAILURE" (and, at the MTA's choice, "DELAY"); NEVER means nothing.
bool wants_notice(unsigned notify, DsnAction action);

struct DsnRecipient {
    std::string address;     // Final-Recipient (rfc822)
    std::string orcpt;       // "addr-type;address" (RFC 3461 §4.2) or empty
    DsnAction action = DsnAction::Failed;
    std::string status;      // RFC 3463 "5.1.1"
    std::string remote_mta;  // host name or address, or empty
    std::string diagnostic;  // the SMTP reply ("550 5.1.1 ...") or a local explanation
    std::int64_t last_attempt = 0;
    std::int64_t will_retry_until = 0;  // Delayed only
};

struct DsnInput {
    std::string reporting_mta;  // our host name
    std::string sender;         // To: of the notice (the original reverse-path)
    std::string envid;          // RFC 3461 ENVID, or empty
    std::string ret;            // "FULL", "HDRS" or empty
    std::int64_t arrival = 0;   // when the message was queued
    std::int64_t now = 0;
    std::vector<DsnRecipient> recipients;
    std::string original;       // the message as queued (CRLF)
    std::size_t max_full_return = 10u << 20;  // larger originals are returned as headers only
    std::string boundary;       // MIME boundary (random in production, fixed in tests)
    std::string message_id;     // without <>
};

// The complete notice (header + body, CRLF), ready to be delivered with an empty reverse-path.
std::string build_dsn(const DsnInput& in);

// RFC 5322 §3.3 date-time in UTC: "Tue, 01 Jul 2025 10:00:00 +0000".
std::string rfc5322_date(std::int64_t unix_seconds);

// The RFC 3463 status to report for a reply: its enhanced code when it has one of the right class, else
// the class default ("5.0.0" / "4.0.0").
std::string status_of_reply(int code, std::string_view enhanced);

// Removes a leading "Return-Path:" field (the store adds one for local delivery, RFC 5321 §4.4; a relay must
// not pass it on).
std::string_view strip_return_path(std::string_view message);

}  // namespace roost::outbound
