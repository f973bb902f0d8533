#include "smtpd/outbound/dns.hpp"

#include <unbound.h>
#include <unistd.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>

#include "common/core/endpoint.hpp"

namespace roost::outbound {

namespace asio = boost::asio;

namespace {
constexpr int kTypeA = 1, kTypeMx = 15, kTypeAaaa = 28;
constexpr auto kQueryTimeout = std::chrono::seconds(30);
}  // namespace

struct Resolver::Impl : std::enable_shared_from_this<Impl> {
    struct Pending {
        std::function<void(DnsAnswer)> done;
        int async_id = 0;
        std::unique_ptr<asio::steady_timer> timer;
    };

    asio::any_io_executor ex;
    ub_ctx* ctx = nullptr;
    asio::posix::stream_descriptor fd;
    std::map<std::uintptr_t, Pending> pending;
    std::uintptr_t next = 1;
    bool waiting = false, stopped = false;

    explicit Impl(asio::any_io_executor e) : ex(e), fd(e) {}
    ~Impl() {
        if (ctx) ub_ctx_delete(ctx);
    }

    void arm() {
        if (waiting || stopped || pending.empty()) return;
        waiting = true;
        fd.async_wait(asio::posix::descriptor_base::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
            self->waiting = false;
            if (ec || self->stopped) return;
            ub_process(self->ctx);  // runs on_result for every finished lookup
            self->arm();
        });
    }

    static void on_result(void* mydata, int err, ub_result* result) {
        // mydata packs (Impl*, key): the Impl outlives every callback (ub_process runs inside it).
        auto* call = static_cast<std::pair<Impl*, std::uintptr_t>*>(mydata);
        auto [self, key] = *call;
        delete call;
        DnsAnswer a;
        if (err != 0) {
            a.status = DnsAnswer::Status::Temporary;
            a.error = ub_strerror(err);
        } else if (result->rcode == 3) {  // NXDOMAIN (RFC 1035 §4.1.1)
            a.status = DnsAnswer::Status::NxDomain;
            a.error = "NXDOMAIN";
        } else if (result->rcode != 0) {
            a.status = DnsAnswer::Status::Temporary;
            a.error = "DNS rcode " + std::to_string(result->rcode);
        } else if (!result->havedata) {
            a.status = DnsAnswer::Status::NoData;
        } else {
            a.status = DnsAnswer::Status::Ok;
            for (int i = 0; result->data[i]; ++i) a.rdata.emplace_back(result->data[i], static_cast<std::size_t>(result->len[i]));
        }
        if (result) ub_resolve_free(result);
        self->finish(key, std::move(a));
    }

    void finish(std::uintptr_t key, DnsAnswer a) {
        auto it = pending.find(key);
        if (it == pending.end()) return;
        auto done = std::move(it->second.done);
        if (it->second.timer) it->second.timer->cancel();
        pending.erase(it);
        asio::post(ex, [done = std::move(done), a = std::move(a)]() mutable { done(std::move(a)); });
    }

    void start(const std::string& name, int type, std::function<void(DnsAnswer)> done) {
        if (stopped) {
            asio::post(ex, [done = std::move(done)] { done(DnsAnswer{DnsAnswer::Status::Temporary, {}, "shutting down"}); });
            return;
        }
        auto key = next++;
        auto& p = pending[key];
        p.done = std::move(done);
        auto* call = new std::pair<Impl*, std::uintptr_t>(this, key);
        int rc = ub_resolve_async(ctx, name.c_str(), type, 1 /* IN */, call, &Impl::on_result, &p.async_id);
        if (rc != 0) {
            delete call;
            finish(key, DnsAnswer{DnsAnswer::Status::Temporary, {}, ub_strerror(rc)});
            return;
        }
        p.timer = std::make_unique<asio::steady_timer>(ex, kQueryTimeout);
        p.timer->async_wait([self = shared_from_this(), key](boost::system::error_code ec) {
            if (ec) return;
            auto it = self->pending.find(key);
            if (it == self->pending.end()) return;
            ub_cancel(self->ctx, it->second.async_id);  // its callback will not run: `call` leaks by design
            self->finish(key, DnsAnswer{DnsAnswer::Status::Temporary, {}, "DNS timeout"});
        });
        arm();
    }
};

Resolver::Resolver(asio::any_io_executor ex, const std::string& forwarder) : impl_(std::make_shared<Impl>(ex)) {
    impl_->ctx = ub_ctx_create();
    if (!impl_->ctx) throw std::runtime_error("cannot create the DNS resolver context");
    auto check = [](int rc, const std::string& what) {
        if (rc != 0) throw std::runtime_error(what + ": " + ub_strerror(rc));
    };
    // Loopback resolvers (a local cache, or the test server) are the usual case, not a mistake.
    check(ub_ctx_set_option(impl_->ctx, "do-not-query-localhost:", "no"), "DNS option");
    if (forwarder.empty()) {
        check(ub_ctx_resolvconf(impl_->ctx, nullptr), "cannot read /etc/resolv.conf");
    } else {
        auto ep = parse_endpoint(forwarder);
        if (!ep) throw std::runtime_error("invalid DNS resolver '" + forwarder + "'");
        check(ub_ctx_set_fwd(impl_->ctx, (ep->host + "@" + std::to_string(ep->port)).c_str()),
              "invalid DNS resolver '" + forwarder + "'");
        // libunbound answers the RFC 6761 name "test." itself (NXDOMAIN); with a configured resolver, that
        // resolver decides (test and staging setups serve such zones).
        check(ub_ctx_set_option(impl_->ctx, "local-zone:", "test. transparent"), "DNS option");
    }
    check(ub_ctx_async(impl_->ctx, 1), "DNS threads");
    impl_->fd.assign(::dup(ub_fd(impl_->ctx)));
}

Resolver::~Resolver() { shutdown(); }

void Resolver::shutdown() {
    if (!impl_ || impl_->stopped) return;
    impl_->stopped = true;
    boost::system::error_code ignored;
    impl_->fd.cancel(ignored);
    std::vector<std::uintptr_t> keys;
    for (auto& [k, p] : impl_->pending) {
        ub_cancel(impl_->ctx, p.async_id);
        keys.push_back(k);
    }
    for (auto k : keys) impl_->finish(k, DnsAnswer{DnsAnswer::Status::Temporary, {}, "shutting down"});
}

asio::awaitable<DnsAnswer> Resolver::query(std::string name, int rrtype) {
    // The initiation captures only a raw pointer: GCC 12 destroys a coroutine-held lambda's captures twice
    // (seen here as a double free of a captured std::string), which is harmless for a trivial capture.
    struct Request {
        std::shared_ptr<Impl> impl;
        std::string name;
        int type;
    };
    auto* request = new Request{impl_, std::move(name), rrtype};
    auto answer = co_await asio::async_initiate<const asio::use_awaitable_t<>, void(DnsAnswer)>(
        [request](auto handler) {
            std::unique_ptr<Request> r(request);
            auto h = std::make_shared<decltype(handler)>(std::move(handler));
            r->impl->start(r->name, r->type, [h](DnsAnswer a) { (*h)(std::move(a)); });
        },
        asio::use_awaitable);
    co_return answer;
}

asio::awaitable<MxAnswer> Resolver::mx(std::string domain) {
    auto a = co_await query(std::move(domain), kTypeMx);
    MxAnswer out;
    out.status = a.status;
    out.error = a.error;
    for (auto& rd : a.rdata)
        if (auto r = parse_mx_rdata(rd)) out.records.push_back(std::move(*r));
    if (out.status == DnsAnswer::Status::Ok && out.records.empty()) {
        out.status = DnsAnswer::Status::Temporary;
        out.error = "malformed MX records";
    }
    co_return out;
}

asio::awaitable<HostAddresses> Resolver::addresses(std::string host) {
    HostAddresses out;
    auto v4 = co_await query(host, kTypeA);
    auto v6 = co_await query(host, kTypeAaaa);
    for (auto& rd : v4.rdata)
        if (rd.size() == 4) {
            auto p = reinterpret_cast<const unsigned char*>(rd.data());
            out.addresses.push_back(std::to_string(p[0]) + "." + std::to_string(p[1]) + "." + std::to_string(p[2]) + "." +
                                    std::to_string(p[3]));
        }
    for (auto& rd : v6.rdata)
        if (rd.size() == 16) {
            static constexpr char hex[] = "0123456789abcdef";
            std::string s;
            for (int i = 0; i < 16; i += 2) {
                if (i) s += ':';
                unsigned v = (static_cast<unsigned char>(rd[i]) << 8) | static_cast<unsigned char>(rd[i + 1]);
                bool started = false;
                for (int shift = 12; shift >= 0; shift -= 4) {
                    unsigned d = (v >> shift) & 15;
                    if (d || started || shift == 0) {
                        s += hex[d];
                        started = true;
                    }
                }
            }
            out.addresses.push_back(s);
        }
    if (!out.addresses.empty()) out.status = DnsAnswer::Status::Ok;
    else if (v4.status == DnsAnswer::Status::Temporary || v6.status == DnsAnswer::Status::Temporary) {
        out.status = DnsAnswer::Status::Temporary;
        out.error = !v4.error.empty() ? v4.error : v6.error;
    } else if (v4.status == DnsAnswer::Status::NxDomain) {
        out.status = DnsAnswer::Status::NxDomain;
        out.error = "NXDOMAIN";
    } else {
        out.status = DnsAnswer::Status::NoData;
        out.error = "no address records";
    }
    co_return out;
}

}  // namespace roost::outbound
