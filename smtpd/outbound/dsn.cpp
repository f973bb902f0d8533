#include "smtpd/outbound/dsn.hpp"

#include <cctype>
#include <ctime>

#include "common/mail/header.hpp"

namespace roost::outbound {
namespace {

const char* action_name(DsnAction a) {
    switch (a) {
        case DsnAction::Failed: return "failed";
        case DsnAction::Delayed: return "delayed";
        case DsnAction::Relayed: return "relayed";
        case DsnAction::Delivered: return "delivered";
    }
    return "failed";
}

// Header text that came from elsewhere (a remote reply, an address): one line, printable ASCII.
std::string clean(std::string_view s, std::size_t max = 900) {
    std::string o;
    for (unsigned char c : s) {
        if (o.size() >= max) break;
        o += (c < 0x20 || c >= 0x7f) ? '?' : static_cast<char>(c);
    }
    return o;
}

}  // namespace

bool wants_notice(unsigned notify, DsnAction action) {
    if (notify & kNotifyNever) return false;
    switch (action) {
        case DsnAction::Failed: return notify == 0 || (notify & kNotifyFailure);
        case DsnAction::Delayed: return notify == 0 || (notify & kNotifyDelay);
        case DsnAction::Relayed:
        case DsnAction::Delivered: return (notify & kNotifySuccess) != 0;
    }
    return false;
}

std::string rfc5322_date(std::int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    return buf;
}

std::string status_of_reply(int code, std::string_view enhanced) {
    char cls = static_cast<char>('0' + code / 100);
    if (!enhanced.empty() && enhanced[0] == cls) return std::string(enhanced);
    return code >= 500 ? "5.0.0" : "4.0.0";
}

std::string_view strip_return_path(std::string_view m) {
    if (m.size() < 12 || !mail::iequals(m.substr(0, 12), "Return-Path:")) return m;
    auto pos = m.find('\n');
    // A folded Return-Path continues on lines starting with WSP.
    while (pos != std::string_view::npos && pos + 1 < m.size() && (m[pos + 1] == ' ' || m[pos + 1] == '\t'))
        pos = m.find('\n', pos + 1);
    return pos == std::string_view::npos ? std::string_view{} : m.substr(pos + 1);
}

std::string build_dsn(const DsnInput& in) {
    bool any_failed = false, any_delayed = false;
    for (auto& r : in.recipients) {
        any_failed |= r.action == DsnAction::Failed;
        any_delayed |= r.action == DsnAction::Delayed;
    }
    std::string subject = any_failed    ? "Undelivered Mail Returned to Sender"
                          : any_delayed ? "Delayed Mail (still being retried)"
                                        : "Successful Mail Delivery Report";
    const std::string& b = in.boundary;
    std::string m;
    m += "From: Mail Delivery System <MAILER-DAEMON@" + in.reporting_mta + ">\r\n";
    m += "To: <" + clean(in.sender) + ">\r\n";
    m += "Subject: " + subject + "\r\n";
    m += "Date: " + rfc5322_date(in.now) + "\r\n";
    m += "Message-ID: <" + in.message_id + ">\r\n";
    m += "Auto-Submitted: auto-replied\r\n";  // RFC 3834 §5
    m += "MIME-Version: 1.0\r\n";
    // RFC 3464 §2 / RFC 6522: multipart/report; report-type=delivery-status.
    m += "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"" + b + "\"\r\n";
    m += "\r\nThis is a MIME-encapsulated message.\r\n\r\n";

    // Part 1: for people.
    m += "--" + b + "\r\nContent-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n";
    m += "This is the mail system at host " + in.reporting_mta + ".\r\n\r\n";
    if (any_failed)
        m += "I'm sorry to have to inform you that your message could not\r\nbe delivered to one or more "
             "recipients. It's attached below.\r\n\r\n";
    else if (any_delayed)
        m += "Your message could not be delivered yet to one or more recipients.\r\nDelivery will be retried; "
             "you do not need to send it again.\r\n\r\n";
    else
        m += "Your message was successfully delivered to the destination(s)\r\nlisted below.\r\n\r\n";
    for (auto& r : in.recipients) {
        m += "<" + clean(r.address) + ">: " + action_name(r.action);
        if (!r.remote_mta.empty()) m += " (host " + clean(r.remote_mta) + ")";
        m += "\r\n    " + clean(r.diagnostic) + "\r\n";
    }
    m += "\r\n";

    // Part 2: RFC 3464 §2.2 per-message fields, then §2.3 per-recipient blocks, each preceded by a blank line.
    m += "--" + b + "\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n";
    m += "Reporting-MTA: dns; " + in.reporting_mta + "\r\n";
    if (!in.envid.empty()) m += "Original-Envelope-Id: " + clean(in.envid) + "\r\n";
    if (in.arrival) m += "Arrival-Date: " + rfc5322_date(in.arrival) + "\r\n";
    for (auto& r : in.recipients) {
        m += "\r\n";
        m += "Final-Recipient: rfc822; " + clean(r.address) + "\r\n";
        if (!r.orcpt.empty()) {
            auto semi = r.orcpt.find(';');
            if (semi != std::string::npos)
                m += "Original-Recipient: " + clean(r.orcpt.substr(0, semi)) + "; " + clean(r.orcpt.substr(semi + 1)) +
                     "\r\n";
        }
        m += std::string("Action: ") + action_name(r.action) + "\r\n";
        m += "Status: " + clean(r.status) + "\r\n";
        if (!r.remote_mta.empty()) m += "Remote-MTA: dns; " + clean(r.remote_mta) + "\r\n";
        if (!r.diagnostic.empty()) {
            // RFC 3464 §2.3.6: diagnostic-type "smtp" for a reply from the remote SMTP server.
            bool smtp = r.diagnostic.size() >= 3 && r.diagnostic[0] >= '2' && r.diagnostic[0] <= '5' &&
                        std::isdigit(static_cast<unsigned char>(r.diagnostic[1])) &&
                        std::isdigit(static_cast<unsigned char>(r.diagnostic[2]));
            m += std::string("Diagnostic-Code: ") + (smtp ? "smtp; " : "X-Roost; ") + clean(r.diagnostic) + "\r\n";
        }
        if (r.last_attempt) m += "Last-Attempt-Date: " + rfc5322_date(r.last_attempt) + "\r\n";
        if (r.action == DsnAction::Delayed && r.will_retry_until)
            m += "Will-Retry-Until: " + rfc5322_date(r.will_retry_until) + "\r\n";
    }
    m += "\r\n";

    // Part 3: the original (RFC 3461 §4.3 RET; RFC 3464 §2: message/rfc822 or text/rfc822-headers).
    auto original = strip_return_path(in.original);
    bool full = in.ret != "HDRS" && original.size() <= in.max_full_return;
    if (full) {
        m += "--" + b + "\r\nContent-Description: Undelivered Message\r\nContent-Type: message/rfc822\r\n\r\n";
        m += original;
        if (!original.ends_with("\r\n")) m += "\r\n";
    } else {
        auto end = original.find("\r\n\r\n");
        auto headers = end == std::string_view::npos ? original : original.substr(0, end + 2);
        m += "--" + b +
             "\r\nContent-Description: Undelivered Message Headers\r\nContent-Type: text/rfc822-headers\r\n\r\n";
        m += headers;
        if (!headers.ends_with("\r\n")) m += "\r\n";
    }
    m += "\r\n--" + b + "--\r\n";
    return m;
}

}  // namespace roost::outbound
