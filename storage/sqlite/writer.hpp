// GroupCommitWriter — the one writer of a process. Requests that arrive while a commit is in flight are
// gathered into the next transaction, so N concurrent deliveries cost one fsync, not N (ARCHITECTURE.md).
// Each request runs inside its own SAVEPOINT: one failing request does not fail the others in its batch, unless
// its error made SQLite roll back the whole transaction (disk full, I/O error): then every request in the batch
// fails with that error. Whatever a request's callback hears matches what is on disk.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/sqlite/db.hpp"

namespace roost::store::sqlite {

class ChangePublisher;

// What a job sees: the connection, inside an open transaction.
class Tx {
public:
    Tx(Db& db, std::int64_t now) : db(db), now(now) {}
    Db& db;
    const std::int64_t now;
    // Records that (account, mailbox) reached `modseq`; subscribers in every process hear of it after commit.
    void note_change(std::int64_t account_id, std::int64_t mailbox_id, std::uint64_t modseq);
    bool changed() const { return changed_; }

private:
    bool changed_ = false;
};

class GroupCommitWriter {
public:
    using Job = std::function<void(Tx&)>;                  // throws to fail (only itself)
    using Done = std::function<void(std::exception_ptr)>;  // null = committed durably

    // `init` runs on the new connection before the writer thread starts (schema migration).
    GroupCommitWriter(const std::string& path, int busy_timeout_ms, ChangePublisher* publisher,
                      const std::function<void(Db&)>& init, std::size_t max_batch = 256);
    ~GroupCommitWriter();

    void submit(Job job, Done done);
    // Runs `job` and waits for its commit; rethrows its failure.
    void run(Job job);

    std::uint64_t commits() const { return commits_; }
    std::uint64_t jobs_committed() const { return jobs_; }

private:
    struct Pending {
        Job job;
        Done done;
    };
    void loop();
    void run_batch(std::vector<Pending>& batch);

    Db db_;
    ChangePublisher* publisher_;
    std::size_t max_batch_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Pending> queue_;
    bool stop_ = false;
    std::uint64_t commits_ = 0, jobs_ = 0;
    std::thread thread_;
};

}  // namespace roost::store::sqlite
