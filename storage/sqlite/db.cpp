#include "storage/sqlite/db.hpp"

namespace roost::store::sqlite {

bool DbError::temporary() const {
    int primary = code_ & 0xff;
    return primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_FULL ||
           primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN || primary == SQLITE_NOMEM;
}

Stmt& Stmt::bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
}
Stmt& Stmt::bind(int i, std::string_view v) {
    // An empty view may have a null data pointer, which SQLite would store as NULL.
    sqlite3_bind_text(s_, i, v.data() ? v.data() : "", static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
}
Stmt& Stmt::bind_blob(int i, std::string_view v) {
    // SQLITE_STATIC: callers keep the bytes alive until the statement has run (saves a copy of big bodies).
    sqlite3_bind_blob64(s_, i, v.data() ? v.data() : "", v.size(), SQLITE_STATIC);
    return *this;
}
Stmt& Stmt::bind_null(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
}

bool Stmt::step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    sqlite3* db = sqlite3_db_handle(s_);
    throw DbError(sqlite3_extended_errcode(db), std::string(sqlite3_errmsg(db)) + " in: " + sqlite3_sql(s_));
}

void Stmt::run() {
    while (step()) {
    }
}

std::string Stmt::text(int col) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col))) : std::string();
}

std::string_view Stmt::blob(int col) const {
    auto p = static_cast<const char*>(sqlite3_column_blob(s_, col));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col))) : std::string_view();
}

void Stmt::reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
}

Db::Db(const std::string& path, int busy_timeout_ms, bool readonly) {
    int flags = readonly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    flags |= SQLITE_OPEN_NOMUTEX;  // one thread at a time per connection; the store guarantees it
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close_v2(db_);
        db_ = nullptr;
        throw DbError(rc, "cannot open database '" + path + "': " + msg);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, busy_timeout_ms);
    exec("PRAGMA foreign_keys = ON");
    // WAL + synchronous=FULL: a commit is on disk (WAL fsynced) before it returns — the promise behind 250 OK.
    exec("PRAGMA synchronous = FULL");
    exec("PRAGMA temp_store = MEMORY");
    exec("PRAGMA cache_size = -16384");
}

Db::~Db() {
    // Finalize only our own statements: FTS5 owns statements of its own and finalizes them on close.
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt->raw());
    cache_.clear();
    sqlite3_close_v2(db_);
}

void Db::exec(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errmsg(db_);
        sqlite3_free(err);
        throw DbError(sqlite3_extended_errcode(db_), msg + " in: " + sql);
    }
}

StmtRef Db::prepare(const char* sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end() && it->second->busy) {
        sqlite3_stmt* s = nullptr;
        int rc = sqlite3_prepare_v2(db_, sql, -1, &s, nullptr);
        if (rc != SQLITE_OK) fail(rc, sql);
        return StmtRef(s);
    }
    if (it == cache_.end()) {
        sqlite3_stmt* s = nullptr;
        int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
        if (rc != SQLITE_OK) fail(rc, sql);
        it = cache_.emplace(sql, std::make_unique<Stmt>(s)).first;
    }
    return StmtRef(*it->second);
}

void Db::fail(int rc, std::string_view what) const {
    throw DbError(sqlite3_extended_errcode(db_), std::string(sqlite3_errmsg(db_)) + " in: " + std::string(what));
}

}  // namespace roost::store::sqlite
