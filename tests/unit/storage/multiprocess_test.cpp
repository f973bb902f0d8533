// Several processes sharing one database: concurrent writers, and change notification that crosses
// process boundaries (inotify on data_dir/run/changes).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>

#include "store_test_util.hpp"

extern char** environ;

namespace roost::store::test {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

pid_t spawn_writer(const std::string& dir, const std::string& address, int count) {
    std::string exe = ROOST_STORE_WRITER, n = std::to_string(count);
    std::vector<char*> argv = {exe.data(), const_cast<char*>(dir.c_str()), const_cast<char*>(address.c_str()),
                               n.data(), nullptr};
    pid_t pid = 0;
    int rc = ::posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv.data(), environ);
    EXPECT_EQ(rc, 0) << "cannot start " << exe;
    return rc == 0 ? pid : -1;
}

// Waits for `pid`; returns its exit status (or -1 if it did not exit normally).
int wait_exit(pid_t pid) {
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Collects change events from the notifier thread.
struct Events {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::pair<MailboxChange, Clock::time_point>> got;

    std::function<void(const MailboxChange&)> callback() {
        return [this](const MailboxChange& c) {
            std::lock_guard lock(mu);
            got.push_back({c, Clock::now()});
            cv.notify_all();
        };
    }
    bool wait_for(std::size_t n, std::chrono::milliseconds timeout) {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, timeout, [&] { return got.size() >= n; });
    }
    std::size_t size() {
        std::lock_guard lock(mu);
        return got.size();
    }
};

class MultiProcessTest : public StoreTest {
protected:
    void SetUp() override {
        StoreTest::SetUp();
        domain("example.test");
        demo_ = account("demo@example.test").id;
        other_ = account("other@example.test").id;
    }
    std::int64_t demo_ = 0, other_ = 0;
};

TEST_F(MultiProcessTest, FourConcurrentWriterProcesses) {
    constexpr int kProcs = 4, kEach = 25;
    std::vector<pid_t> pids;
    for (int i = 0; i < kProcs; ++i) pids.push_back(spawn_writer(dir_, "demo@example.test", kEach));
    for (auto pid : pids) {
        ASSERT_GT(pid, 0);
        EXPECT_EQ(wait_exit(pid), 0) << "writer process " << pid << " failed";
    }
    auto m = inbox(demo_);
    EXPECT_EQ(m.messages, static_cast<std::uint32_t>(kProcs * kEach));
    EXPECT_EQ(m.uidnext, static_cast<std::uint32_t>(kProcs * kEach + 1));
    Sql db(db_path());
    auto u = db.column("SELECT m.uid FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.account_id = " +
                       std::to_string(demo_) + " ORDER BY m.uid");
    ASSERT_EQ(u.size(), static_cast<std::size_t>(kProcs * kEach));
    for (std::size_t i = 0; i < u.size(); ++i) EXPECT_EQ(u[i], static_cast<std::int64_t>(i + 1)) << "UIDs 1..N, unique";
    EXPECT_EQ(db.scalar("SELECT COUNT(DISTINCT blob_id) FROM messages"), kProcs * kEach);
    EXPECT_EQ(db.texts("PRAGMA integrity_check"), std::vector<std::string>{"ok"});
    EXPECT_EQ(db.scalar("SELECT SUM(size) FROM messages"),
              static_cast<std::int64_t>(store().find_account_by_id(demo_)->used_bytes));
}

TEST_F(MultiProcessTest, ChangeInAnotherProcessIsNotifiedQuickly) {
    store_ = open_store(true);
    Events events, other_events;
    auto sub = store().subscribe(demo_, events.callback());
    auto other_sub = store().subscribe(other_, other_events.callback());
    ASSERT_TRUE(sub);

    auto pid = spawn_writer(dir_, "demo@example.test", 1);
    ASSERT_GT(pid, 0);
    ASSERT_EQ(wait_exit(pid), 0);
    auto exited = Clock::now();
    ASSERT_TRUE(events.wait_for(1, 2000ms)) << "no change notification from the other process";
    std::lock_guard lock(events.mu);
    auto& [change, when] = events.got.front();
    auto late = std::chrono::duration_cast<std::chrono::milliseconds>(when - exited);
    EXPECT_LE(late.count(), 250) << "notification arrived " << late.count() << " ms after the writer exited";
    auto m = inbox(demo_);
    EXPECT_EQ(change.account_id, demo_);
    EXPECT_EQ(change.mailbox_id, m.id);
    EXPECT_EQ(change.modseq, m.highest_modseq);
    EXPECT_EQ(other_events.size(), 0u) << "subscribers of other accounts are not called";
}

TEST_F(MultiProcessTest, InProcessDeliveryNotifiesAndUnsubscribeStops) {
    store_ = open_store(true);
    Events kept, dropped, other_events;
    auto keep = store().subscribe(demo_, kept.callback());
    auto drop = store().subscribe(demo_, dropped.callback());
    auto other_sub = store().subscribe(other_, other_events.callback());

    auto start = Clock::now();
    deliver({demo_}, make_message("local-1"));
    ASSERT_TRUE(kept.wait_for(1, 2000ms));
    ASSERT_TRUE(dropped.wait_for(1, 2000ms));
    {
        std::lock_guard lock(kept.mu);
        EXPECT_LE(std::chrono::duration_cast<std::chrono::milliseconds>(kept.got[0].second - start).count(), 250);
        EXPECT_EQ(kept.got[0].first.account_id, demo_);
        EXPECT_EQ(kept.got[0].first.mailbox_id, inbox(demo_).id);
        EXPECT_EQ(kept.got[0].first.modseq, inbox(demo_).highest_modseq);
    }

    drop.reset();  // unsubscribes
    deliver({demo_}, make_message("local-2"));
    ASSERT_TRUE(kept.wait_for(2, 2000ms));
    // Both subscribers of an event are called in the same pass, so `dropped` would have its second call by now.
    EXPECT_EQ(dropped.size(), 1u) << "a dropped subscription must not be called";
    EXPECT_EQ(other_events.size(), 0u);
    {
        std::lock_guard lock(kept.mu);
        EXPECT_GT(kept.got[1].first.modseq, kept.got[0].first.modseq);
    }
}

TEST_F(MultiProcessTest, StoreWithoutNotificationsHasNoSubscriptions) {
    EXPECT_EQ(store().subscribe(demo_, [](const MailboxChange&) {}), nullptr);
}

}  // namespace
}  // namespace roost::store::test
