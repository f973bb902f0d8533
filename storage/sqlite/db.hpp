// Thin RAII wrapper over one sqlite3 connection with a prepared-statement cache. Used only inside storage/.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace roost::store::sqlite {

// Thrown inside the backend; converted to Result errors at the MailStore boundary.
class DbError : public std::runtime_error {
public:
    DbError(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
    int code() const { return code_; }
    // SQLITE_BUSY / SQLITE_LOCKED / SQLITE_FULL / SQLITE_IOERR: the caller may retry later.
    bool temporary() const;

private:
    int code_;
};

class Stmt {
public:
    explicit Stmt(sqlite3_stmt* s) : s_(s) {}
    Stmt& bind(int i, std::int64_t v);
    Stmt& bind(int i, std::string_view v);
    Stmt& bind_blob(int i, std::string_view v);
    Stmt& bind_null(int i);
    // Steps once; true while a row is available.
    bool step();
    void run();  // steps to completion, expecting no rows
    std::int64_t int64(int col) const { return sqlite3_column_int64(s_, col); }
    std::string text(int col) const;
    std::string_view blob(int col) const;
    bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
    void reset();
    sqlite3_stmt* raw() const { return s_; }
    bool busy = false;  // a StmtRef currently holds it

private:
    sqlite3_stmt* s_;
};

// Resets (and clears bindings of) a cached statement when it goes out of scope. If the cached statement
// is already in use further up the stack (the same SQL text reached re-entrantly), a private statement is
// prepared instead and finalized here.
class StmtRef {
public:
    explicit StmtRef(Stmt& s) : s_(&s) { s.busy = true; }
    explicit StmtRef(sqlite3_stmt* owned) : owned_(owned), s_(&owned_) {}
    StmtRef(const StmtRef&) = delete;
    ~StmtRef() {
        if (s_ == &owned_) sqlite3_finalize(owned_.raw());
        else {
            s_->reset();
            s_->busy = false;
        }
    }
    Stmt* operator->() { return s_; }
    Stmt& operator*() { return *s_; }

private:
    Stmt owned_{nullptr};
    Stmt* s_;
};

class Db {
public:
    Db(const std::string& path, int busy_timeout_ms, bool readonly = false);
    ~Db();
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    void exec(const char* sql);
    StmtRef prepare(const char* sql);  // cached by pointer identity of the literal
    std::int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
    int changes() const { return sqlite3_changes(db_); }
    sqlite3* raw() { return db_; }
    [[noreturn]] void fail(int rc, std::string_view what) const;

private:
    sqlite3* db_ = nullptr;
    std::map<const char*, std::unique_ptr<Stmt>> cache_;
};

}  // namespace roost::store::sqlite
