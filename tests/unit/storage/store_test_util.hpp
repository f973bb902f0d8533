// Shared fixture for storage tests: a fresh data directory per test, a store opened on it, and direct
// SQLite access to the database file for checking what the store wrote.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "storage/mail_store.hpp"

namespace roost::store::test {

inline std::string make_temp_dir(const char* prefix = "roost-store-") {
    std::string tmpl = ::testing::TempDir() + prefix + "XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    return tmpl;
}

// Read/write access to the database file, bypassing the store. Test use only.
class Sql {
public:
    explicit Sql(const std::string& path) {
        if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK)
            throw std::runtime_error("cannot open " + path);
        sqlite3_busy_timeout(db_, 10000);
    }
    ~Sql() { sqlite3_close_v2(db_); }
    Sql(const Sql&) = delete;
    Sql& operator=(const Sql&) = delete;

    std::int64_t scalar(const std::string& sql) {
        auto col = column(sql);
        if (col.size() != 1) throw std::runtime_error("expected one row from: " + sql);
        return col[0];
    }
    std::vector<std::int64_t> column(const std::string& sql) {
        std::vector<std::int64_t> out;
        for (auto& s : texts(sql)) out.push_back(std::stoll(s.empty() ? "0" : s));
        return out;
    }
    std::vector<std::string> texts(const std::string& sql) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
            throw std::runtime_error(std::string(sqlite3_errmsg(db_)) + " in " + sql);
        std::vector<std::string> out;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            auto p = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
            out.emplace_back(p ? p : "");
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) throw std::runtime_error(std::string(sqlite3_errmsg(db_)) + " in " + sql);
        return out;
    }
    void exec(const std::string& sql) {
        char* err = nullptr;
        if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
            std::string m = err ? err : "?";
            sqlite3_free(err);
            throw std::runtime_error(m + " in " + sql);
        }
    }

private:
    sqlite3* db_ = nullptr;
};

// A small well-formed message with CRLF line ends.
inline std::string make_message(const std::string& tag, const std::string& body = "Hello there.") {
    return "Return-Path: <sender@remote.test>\r\n"
           "From: Sender <sender@remote.test>\r\n"
           "To: demo@example.test\r\n"
           "Subject: test " + tag + "\r\n"
           "Message-ID: <" + tag + "@remote.test>\r\n"
           "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
           "\r\n" + body + "\r\n";
}

class StoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = make_temp_dir();
        store_ = open_store(false);
    }
    void TearDown() override {
        store_.reset();
        std::filesystem::remove_all(dir_);
    }

    std::unique_ptr<MailStore> open_store(bool notifications) {
        StoreOptions o;
        o.path = db_path();
        o.run_dir = dir_ + "/run";
        o.notifications = notifications;
        return open_sqlite_store(o);
    }
    std::string db_path() const { return dir_ + "/roost.db"; }
    MailStore& store() { return *store_; }

    Domain domain(const std::string& name) {
        auto d = store_->add_domain(name);
        if (!d) ADD_FAILURE() << "add_domain(" << name << "): " << d.error().message;
        return d ? *d : Domain{};
    }
    Account account(const std::string& address, std::uint64_t quota = 0) {
        auto a = store_->add_account(address, "{TEST}hash", quota);
        if (!a) ADD_FAILURE() << "add_account(" << address << "): " << a.error().message;
        return a ? *a : Account{};
    }
    Mailbox inbox(std::int64_t account_id) {
        auto m = store_->find_mailbox(account_id, "INBOX");
        if (!m) ADD_FAILURE() << "no INBOX: " << m.error().message;
        return m ? *m : Mailbox{};
    }
    DeliveryResult deliver(std::vector<std::int64_t> accounts, std::string raw) {
        DeliveryRequest r;
        r.raw = std::move(raw);
        r.accounts = std::move(accounts);
        auto res = store_->deliver_sync(std::move(r));
        if (!res) ADD_FAILURE() << "deliver: " << res.error().message;
        return res ? *res : DeliveryResult{};
    }

    std::string dir_;
    std::unique_ptr<MailStore> store_;
};

}  // namespace roost::store::test
