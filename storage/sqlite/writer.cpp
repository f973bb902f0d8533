#include "storage/sqlite/writer.hpp"

#include <chrono>
#include <future>

#include "storage/sqlite/notify.hpp"

namespace roost::store::sqlite {

void Tx::note_change(std::int64_t account_id, std::int64_t mailbox_id, std::uint64_t modseq) {
    auto s = db.prepare("INSERT INTO changes (account_id, mailbox_id, modseq, at) VALUES (?, ?, ?, ?)");
    s->bind(1, account_id).bind(2, mailbox_id).bind(3, static_cast<std::int64_t>(modseq)).bind(4, now).run();
    changed_ = true;
}

GroupCommitWriter::GroupCommitWriter(const std::string& path, int busy_timeout_ms, ChangePublisher* publisher,
                                     const std::function<void(Db&)>& init, std::size_t max_batch)
    : db_(path, busy_timeout_ms), publisher_(publisher), max_batch_(max_batch) {
    if (init) init(db_);
    thread_ = std::thread([this] { loop(); });
}

GroupCommitWriter::~GroupCommitWriter() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void GroupCommitWriter::submit(Job job, Done done) {
    {
        std::lock_guard lock(mu_);
        queue_.push_back({std::move(job), std::move(done)});
    }
    cv_.notify_one();
}

void GroupCommitWriter::run(Job job) {
    std::promise<void> p;
    auto f = p.get_future();
    submit(std::move(job), [&p](std::exception_ptr e) {
        if (e) p.set_exception(e);
        else p.set_value();
    });
    f.get();
}

void GroupCommitWriter::loop() {
    std::vector<Pending> batch;
    for (;;) {
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
            if (queue_.empty() && stop_) return;
            while (!queue_.empty() && batch.size() < max_batch_) {
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
        }
        run_batch(batch);
        batch.clear();
    }
}

void GroupCommitWriter::run_batch(std::vector<Pending>& batch) {
    std::vector<std::exception_ptr> errors(batch.size());
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    Tx tx(db_, now);
    bool committed = false;
    std::exception_ptr batch_error;
    try {
        db_.exec("BEGIN IMMEDIATE");
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (!batch[i].job) continue;
            db_.exec("SAVEPOINT job");
            try {
                batch[i].job(tx);
                db_.exec("RELEASE job");
            } catch (...) {
                // SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY and SQLITE_NOMEM can roll back the whole transaction,
                // not just the statement (sqlite.org/lang_transaction.html, "Response To Errors Within A
                // Transaction"). Then the jobs before this one are undone as well, and the ones after it must
                // not run outside a transaction: the whole batch fails with this error.
                if (sqlite3_get_autocommit(db_.raw())) throw;
                errors[i] = std::current_exception();
                sqlite3_exec(db_.raw(), "ROLLBACK TO job; RELEASE job", nullptr, nullptr, nullptr);
            }
        }
        db_.exec("COMMIT");
        committed = true;
    } catch (...) {
        batch_error = std::current_exception();
        if (!sqlite3_get_autocommit(db_.raw())) sqlite3_exec(db_.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
    if (committed) {
        ++commits_;
        jobs_ += batch.size();
        // Commit first, then publish, then the callers answer their clients.
        if (tx.changed() && publisher_) publisher_->publish();
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
        auto e = committed ? errors[i] : batch_error;
        if (batch[i].done) batch[i].done(e);
    }
}

}  // namespace roost::store::sqlite
