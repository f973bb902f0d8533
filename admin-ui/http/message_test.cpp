// roost-admin's HTTP request reader, fed every request split at every byte (STYLE 11), its limits, and the
// small helpers (cookies, percent-decoding, response serialization).
#include "admin-ui/http/message.hpp"

#include <gtest/gtest.h>

namespace roost::admin::http {
namespace {

// Feeds `input` in two pieces split at `split`, the way a socket may deliver it, keeping unconsumed bytes
// buffered like the Connection does. Returns the final state and the request when Done.
RequestReader::State feed_split(std::string_view input, std::size_t split, Request& out, std::size_t& leftover,
                                Limits limits = {}) {
    RequestReader r(limits);
    std::string buffer;
    std::size_t pos = 0;
    RequestReader::State st = RequestReader::State::NeedMore;
    for (auto piece : {input.substr(0, split), input.substr(split)}) {
        buffer.append(piece);
        std::size_t used = 0;
        st = r.feed(std::string_view(buffer).substr(pos), used);
        pos += used;
        if (st != RequestReader::State::NeedMore) break;
    }
    leftover = input.size() - pos;  // unconsumed, fed or not yet fed
    if (st == RequestReader::State::Done) out = r.take();
    return st;
}

TEST(RequestReader, PostWithBodySplitAtEveryByte) {
    const std::string req =
        "POST /api/v1/users?domain=ex%61mple.test&x=a+b HTTP/1.1\r\nHost: localhost\r\n"
        "Content-Type: application/json\r\nCookie: a=1; roost_session=abc\r\nX-Dup: 1\r\nX-Dup: 2\r\n"
        "Content-Length: 13\r\n\r\n{\"name\":\"x\"}\n";
    for (std::size_t split = 0; split <= req.size(); ++split) {
        Request r;
        std::size_t left = 0;
        ASSERT_EQ(feed_split(req, split, r, left), RequestReader::State::Done) << "split at " << split;
        EXPECT_EQ(left, 0u);
        EXPECT_EQ(r.method, "POST");
        EXPECT_EQ(r.path, "/api/v1/users");
        EXPECT_EQ(r.query.at("domain"), "example.test");
        EXPECT_EQ(r.query.at("x"), "a b");
        EXPECT_EQ(r.header("content-type"), "application/json");
        EXPECT_EQ(r.header("x-dup"), "1, 2");
        EXPECT_EQ(r.cookie("roost_session"), "abc");
        EXPECT_EQ(r.cookie("a"), "1");
        EXPECT_EQ(r.cookie("missing"), "");
        EXPECT_EQ(r.body, "{\"name\":\"x\"}\n");
        EXPECT_TRUE(r.keep_alive);
    }
}

TEST(RequestReader, Http10GetClosesAndLeavesPipelinedBytes) {
    const std::string req = "GET / HTTP/1.0\r\n\r\nGET /next HTTP/1.1\r\n";
    for (std::size_t split = 0; split <= req.size(); ++split) {
        Request r;
        std::size_t left = 0;
        ASSERT_EQ(feed_split(req, split, r, left), RequestReader::State::Done) << split;
        EXPECT_EQ(r.version, 10u);
        EXPECT_FALSE(r.keep_alive);
        EXPECT_EQ(left, std::string("GET /next HTTP/1.1\r\n").size()) << split;
    }
}

TEST(RequestReader, MalformedRequestsAreRefused) {
    for (std::string bad : {"GARBAGE\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
                            "POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"}) {
        Request r;
        std::size_t left = 0;
        EXPECT_EQ(feed_split(bad, bad.size(), r, left), RequestReader::State::BadRequest) << bad;
    }
}

TEST(RequestReader, LimitsAreEnforced) {
    Limits small{256, 16};
    Request r;
    std::size_t left = 0;
    std::string big_header = "GET / HTTP/1.1\r\nX: " + std::string(400, 'a') + "\r\n\r\n";
    EXPECT_EQ(feed_split(big_header, 10, r, left, small), RequestReader::State::TooLarge);
    std::string big_body = "POST / HTTP/1.1\r\nContent-Length: 17\r\n\r\n" + std::string(17, 'b');
    EXPECT_EQ(feed_split(big_body, 5, r, left, small), RequestReader::State::TooLarge);
    std::string ok_body = "POST / HTTP/1.1\r\nContent-Length: 16\r\n\r\n" + std::string(16, 'b');
    EXPECT_EQ(feed_split(ok_body, 5, r, left, small), RequestReader::State::Done);
}

TEST(RequestReader, IncompleteRequestNeedsMore) {
    Request r;
    std::size_t left = 0;
    std::string partial = "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc";
    EXPECT_EQ(feed_split(partial, 7, r, left), RequestReader::State::NeedMore);
}

TEST(PercentDecode, DecodesAndKeepsInvalidEscapes) {
    EXPECT_EQ(percent_decode("a%40b.test", false), "a@b.test");
    EXPECT_EQ(percent_decode("a+b", false), "a+b");
    EXPECT_EQ(percent_decode("a+b", true), "a b");
    EXPECT_EQ(percent_decode("%zz%4", false), "%zz%4");
    EXPECT_EQ(percent_decode("%3Cscript%3E", false), "<script>");
}

TEST(Serialize, StatusHeadersLengthAndNoHeaderInjection) {
    Response r;
    r.status = 404;
    r.set("Content-Type", "application/json").set("X-Evil", "a\r\nSet-Cookie: x=1");
    r.body = "{}";
    auto bytes = serialize(r, true, false);
    EXPECT_EQ(bytes.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
    EXPECT_NE(bytes.find("Content-Length: 2\r\n"), std::string::npos);
    EXPECT_NE(bytes.find("Connection: keep-alive\r\n"), std::string::npos);
    EXPECT_EQ(bytes.find("\r\nSet-Cookie"), std::string::npos);
    EXPECT_EQ(bytes.substr(bytes.size() - 4), "\r\n{}");
    auto head = serialize(r, false, true);
    EXPECT_NE(head.find("Content-Length: 2\r\nConnection: close\r\n\r\n"), std::string::npos);
    EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
}

}  // namespace
}  // namespace roost::admin::http
