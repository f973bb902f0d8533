// Protocol-neutral results of store operations. Protocol code maps Errc to its own replies at its edge
// (e.g. OverQuota → SMTP 452 4.2.2 / IMAP NO [OVERQUOTA]; Temporary → SMTP 451 4.3.0 / IMAP NO [UNAVAILABLE];
// StorageFull → SMTP 452 4.3.1).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace roost::store {

enum class Errc {
    NotFound,       // the named domain, account, mailbox, message does not exist
    AlreadyExists,  // a unique name is taken
    Invalid,        // the request itself is wrong (bad address, reserved name...)
    OverQuota,      // the account's quota would be exceeded
    InUse,          // a lock held by another session (POP3 maildrop)
    Temporary,      // the database is busy or failing: try again later
    StorageFull,    // the disk holding the database is full: try again later
    Internal,       // a bug or corruption: logged, reported as a server error
};

const char* errc_name(Errc e);

struct Error {
    Errc code;
    std::string message;
};

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error e) : v_(std::move(e)) {}
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return std::get<0>(v_); }
    const T& operator*() const& { return std::get<0>(v_); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }
    const Error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;

inline Error make_error(Errc c, std::string msg) { return Error{c, std::move(msg)}; }

}  // namespace roost::store
