// Asynchronous DNS for outbound delivery: libunbound (ARCHITECTURE.md), its result descriptor waited on by
// Asio, so lookups never block the delivery event loop. Either the system's resolvers (/etc/resolv.conf) or a
// configured "address:port" forwarder (`[dns] resolver`, which tests point at a local DNS server).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>
#include <vector>

#include "smtpd/outbound/route.hpp"

namespace roost::outbound {

struct DnsAnswer {
    enum class Status {
        Ok,         // records in `rdata`
        NoData,     // the name exists, no records of this type
        NxDomain,   // the name does not exist (RFC 5321 §5.1: an error, not a reason to retry)
        Temporary,  // SERVFAIL, timeout, network: retry later
    };
    Status status = Status::Temporary;
    std::vector<std::string> rdata;  // wire-format rdata of each record
    std::string error;               // for logs when not Ok
};

struct MxAnswer {
    DnsAnswer::Status status = DnsAnswer::Status::Temporary;
    std::vector<MxRecord> records;
    std::string error;
};

struct HostAddresses {
    DnsAnswer::Status status = DnsAnswer::Status::Temporary;  // Ok when at least one address was found
    std::vector<std::string> addresses;  // IPv4 first, then IPv6, in the order the resolver gave them
    std::string error;
};

class Resolver {
public:
    // `forwarder` "127.0.0.1:5353" or empty for the system's resolvers. Throws std::runtime_error when
    // libunbound cannot be set up.
    Resolver(boost::asio::any_io_executor ex, const std::string& forwarder);
    ~Resolver();
    Resolver(const Resolver&) = delete;
    Resolver& operator=(const Resolver&) = delete;

    boost::asio::awaitable<DnsAnswer> query(std::string name, int rrtype);
    boost::asio::awaitable<MxAnswer> mx(std::string domain);
    // A then AAAA (RFC 5321 §5.1: an MX's name must have address records).
    boost::asio::awaitable<HostAddresses> addresses(std::string host);
    // Stops waiting; pending lookups complete with Temporary.
    void shutdown();

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace roost::outbound
