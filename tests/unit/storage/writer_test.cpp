// GroupCommitWriter: what each job's callback hears must match what is on disk, also when one job's error
// rolls back the whole batch transaction (SQLITE_FULL).
#include <gtest/gtest.h>

#include <condition_variable>
#include <exception>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "storage/sqlite/writer.hpp"
#include "store_test_util.hpp"

namespace roost::store::sqlite {
namespace {

class WriterTest : public ::testing::Test {
protected:
    void SetUp() override { dir_ = test::make_temp_dir("roost-writer-"); }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string path() const { return dir_ + "/w.db"; }
    std::string dir_;
};

// Outcome of one submitted job, filled in by its callback.
struct Outcome {
    std::mutex mu;
    std::condition_variable cv;
    int pending = 0;
    std::vector<std::exception_ptr> errors;

    GroupCommitWriter::Done done(std::size_t i) {
        std::lock_guard lock(mu);
        ++pending;
        if (errors.size() <= i) errors.resize(i + 1);
        return [this, i](std::exception_ptr e) {
            std::lock_guard lock(mu);
            errors[i] = e;
            --pending;
            cv.notify_all();
        };
    }
    void wait() {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return pending == 0; });
    }
};

void insert(Tx& tx, std::int64_t id, std::size_t bytes) {
    auto s = tx.db.prepare("INSERT INTO t (id, data) VALUES (?, ?)");
    std::string data(bytes, 'x');
    s->bind(1, id).bind_blob(2, data).run();
}

TEST_F(WriterTest, JobThatRollsBackTheTransactionFailsItsWholeBatch) {
    GroupCommitWriter w(path(), 1000, nullptr, [](Db& db) {
        db.exec("PRAGMA journal_mode = WAL");
        db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB NOT NULL)");
    });
    // A gate job holds the writer so that the next three jobs are gathered into one batch.
    std::mutex gate_mu;
    std::condition_variable gate_cv;
    bool open = false, entered = false;
    w.submit(
        [&](Tx&) {
            std::unique_lock lock(gate_mu);
            entered = true;
            gate_cv.notify_all();
            gate_cv.wait(lock, [&] { return open; });
        },
        nullptr);
    {
        std::unique_lock lock(gate_mu);
        gate_cv.wait(lock, [&] { return entered; });
    }
    Outcome out;
    w.submit([](Tx& tx) { insert(tx, 1, 10); }, out.done(0));
    // The database may not grow: the big row fails with SQLITE_FULL, which rolls back the transaction.
    w.submit(
        [](Tx& tx) {
            auto pc = tx.db.prepare("PRAGMA page_count");
            pc->step();
            tx.db.exec(("PRAGMA max_page_count = " + std::to_string(pc->int64(0))).c_str());
            insert(tx, 2, 1 << 20);
        },
        out.done(1));
    w.submit([](Tx& tx) { insert(tx, 3, 10); }, out.done(2));
    {
        std::lock_guard lock(gate_mu);
        open = true;
    }
    gate_cv.notify_all();
    out.wait();

    test::Sql sql(path());
    for (std::int64_t id = 1; id <= 3; ++id) {
        bool stored = sql.scalar("SELECT COUNT(*) FROM t WHERE id = " + std::to_string(id)) == 1;
        bool told_ok = out.errors[static_cast<std::size_t>(id - 1)] == nullptr;
        EXPECT_EQ(stored, told_ok) << "job " << id;
    }
    ASSERT_NE(out.errors[1], nullptr);
    try {
        std::rethrow_exception(out.errors[1]);
    } catch (const DbError& e) {
        EXPECT_EQ(e.code() & 0xff, SQLITE_FULL) << e.what();
    }
    EXPECT_EQ(sql.texts("PRAGMA integrity_check"), std::vector<std::string>{"ok"});

    // Room again: the writer carries on.
    w.run([](Tx& tx) {
        tx.db.exec("PRAGMA max_page_count = 1073741823");
        insert(tx, 4, 1 << 20);
    });
    EXPECT_EQ(sql.scalar("SELECT COUNT(*) FROM t WHERE id = 4"), 1);
}

}  // namespace
}  // namespace roost::store::sqlite
