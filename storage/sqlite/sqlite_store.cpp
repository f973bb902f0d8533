// SQLite implementation of MailStore: one database file in WAL mode shared by every Roost process.
#include <fcntl.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>

#include "common/mail/header.hpp"
#include "common/mail/message.hpp"
#include "common/mail/serialize.hpp"
#include "common/mail/text.hpp"
#include "storage/address.hpp"
#include "storage/mail_store.hpp"
#include "storage/sqlite/db.hpp"
#include "storage/sqlite/notify.hpp"
#include "storage/sqlite/schema.hpp"
#include "storage/sqlite/writer.hpp"

namespace roost::store {
namespace sqlite {
namespace {


struct DefaultMailbox {
    const char* name;
    const char* special_use;
};
// RFC 6154 §2 special-use attributes for the folders every new account gets.
constexpr DefaultMailbox kDefaultMailboxes[] = {
    {"INBOX", ""}, {"Drafts", "\\Drafts"}, {"Sent", "\\Sent"},
    {"Trash", "\\Trash"}, {"Junk", "\\Junk"}, {"Archive", "\\Archive"},
};

[[maybe_unused]] std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

Error to_error(const DbError& e) {
    int primary = e.code() & 0xff;
    if (e.code() == SQLITE_CONSTRAINT_UNIQUE || e.code() == SQLITE_CONSTRAINT_PRIMARYKEY)
        return make_error(Errc::AlreadyExists, "already exists");
    if (primary == SQLITE_FULL) return make_error(Errc::StorageFull, "storage full: " + std::string(e.what()));
    if (e.temporary()) return make_error(Errc::Temporary, e.what());
    return make_error(Errc::Internal, e.what());
}

// A job failure carrying a protocol-neutral error.
struct JobError {
    Error error;
};

[[noreturn]] void fail(Errc c, std::string msg) { throw JobError{make_error(c, std::move(msg))}; }

Error from_exception(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const JobError& j) {
        return j.error;
    } catch (const DbError& d) {
        return to_error(d);
    } catch (const std::exception& x) {
        return make_error(Errc::Internal, x.what());
    }
}

Account read_account(Stmt& s) {
    Account a;
    a.id = s.int64(0);
    a.domain_id = s.int64(1);
    a.address = s.text(2);
    a.password_hash = s.text(3);
    a.quota_bytes = static_cast<std::uint64_t>(s.int64(4));
    a.used_bytes = static_cast<std::uint64_t>(s.int64(5));
    a.enabled = s.int64(6) != 0;
    a.created = s.int64(7);
    return a;
}
#define ACCOUNT_COLUMNS "id, domain_id, address, password_hash, quota_bytes, used_bytes, enabled, created"

Mailbox read_mailbox(Stmt& s) {
    Mailbox m;
    m.id = s.int64(0);
    m.account_id = s.int64(1);
    m.name = s.text(2);
    m.special_use = s.text(3);
    m.subscribed = s.int64(4) != 0;
    m.uidvalidity = static_cast<std::uint32_t>(s.int64(5));
    m.uidnext = static_cast<std::uint32_t>(s.int64(6));
    m.highest_modseq = static_cast<std::uint64_t>(s.int64(7));
    m.messages = static_cast<std::uint32_t>(s.int64(8));
    m.unseen = static_cast<std::uint32_t>(s.int64(9));
    m.size = static_cast<std::uint64_t>(s.int64(10));
    return m;
}
#define MAILBOX_COLUMNS \
    "id, account_id, name, special_use, subscribed, uidvalidity, uidnext, highest_modseq, messages, unseen, size"

std::int64_t domain_id_of(Db& db, std::string_view domain) {
    auto s = db.prepare("SELECT id FROM domains WHERE name = ?");
    s->bind(1, domain);
    if (!s->step()) fail(Errc::NotFound, "unknown domain '" + std::string(domain) + "'");
    return s->int64(0);
}

// UIDVALIDITY (RFC 9051 §2.3.1.1): strictly increasing across the whole store, seeded from the clock so
// that a re-created database never repeats an earlier value.
std::uint32_t next_uidvalidity(Tx& tx) {
    auto s = tx.db.prepare("SELECT value FROM meta WHERE key = 'last_uidvalidity'");
    std::int64_t last = s->step() ? s->int64(0) : 0;
    std::int64_t v = std::max<std::int64_t>(tx.now & 0xffffffff, last + 1);
    if (v > 0xffffffff || v == 0) v = 1;
    auto u = tx.db.prepare("UPDATE meta SET value = ? WHERE key = 'last_uidvalidity'");
    u->bind(1, v).run();
    return static_cast<std::uint32_t>(v);
}

}  // namespace

class SqliteStore final : public MailStore {
    struct Prepared {
        std::string parsed, header_text, body_text;
        std::string subject;  // for the delivery log
    };
    struct MailboxRow {
        std::int64_t id = 0, account_id = 0;
        std::uint32_t uidvalidity = 0, uidnext = 0;
        std::uint64_t modseq = 0;
    };

public:
    explicit SqliteStore(const StoreOptions& opt)
        : opt_(opt),
          run_dir_(opt.run_dir.empty() ? parent_dir(opt.path) + "/run" : opt.run_dir),
          publisher_(run_dir_),
          writer_(opt.path, static_cast<int>(opt.busy_timeout.count()), &publisher_, [](Db& db) {
              db.exec("PRAGMA journal_mode = WAL");
              migrate(db);
          }) {
        if (opt.notifications)
            notifier_ = std::make_unique<ChangeNotifier>(opt.path, publisher_.path(),
                                                         static_cast<int>(opt.busy_timeout.count()));
    }

    // ----- domains -----
    Result<Domain> add_domain(std::string_view name) override {
        auto d = normalize_domain(name);
        if (!d) return make_error(Errc::Invalid, "invalid domain '" + std::string(name) + "'");
        Domain out;
        auto st = write([&](Tx& tx) {
            auto s = tx.db.prepare("INSERT INTO domains (name, created) VALUES (?, ?)");
            try {
                s->bind(1, *d).bind(2, tx.now).run();
            } catch (const DbError& e) {
                if (e.code() == SQLITE_CONSTRAINT_UNIQUE) fail(Errc::AlreadyExists, "domain '" + *d + "' already exists");
                throw;
            }
            out = Domain{tx.db.last_insert_id(), *d, tx.now};
        });
        if (!st) return st.error();
        return out;
    }

    Result<std::vector<Domain>> list_domains() override {
        return read<std::vector<Domain>>([&](Db& db) {
            std::vector<Domain> v;
            auto s = db.prepare("SELECT id, name, created FROM domains ORDER BY name");
            while (s->step()) v.push_back({s->int64(0), s->text(1), s->int64(2)});
            return v;
        });
    }

    Result<Domain> find_domain(std::string_view name) override {
        std::string d(name);
        std::transform(d.begin(), d.end(), d.begin(), [](unsigned char c) { return std::tolower(c); });
        return read<Domain>([&](Db& db) {
            auto s = db.prepare("SELECT id, name, created FROM domains WHERE name = ?");
            s->bind(1, d);
            if (!s->step()) fail(Errc::NotFound, "unknown domain '" + std::string(name) + "'");
            return Domain{s->int64(0), s->text(1), s->int64(2)};
        });
    }

    Status remove_domain(std::string_view name) override {
        auto d = normalize_domain(name);
        if (!d) return make_error(Errc::NotFound, "unknown domain '" + std::string(name) + "'");
        return write([&](Tx& tx) {
            auto id = domain_id_of(tx.db, *d);
            auto c = tx.db.prepare("SELECT (SELECT COUNT(*) FROM accounts WHERE domain_id = ?1),"
                                   " (SELECT COUNT(DISTINCT source) FROM aliases WHERE domain_id = ?1)");
            c->bind(1, id);
            c->step();
            if (c->int64(0) || c->int64(1))
                fail(Errc::Invalid, "domain '" + *d + "' still has " + std::to_string(c->int64(0)) + " account(s) and " +
                                        std::to_string(c->int64(1)) + " alias(es); remove them first");
            auto s = tx.db.prepare("DELETE FROM domains WHERE id = ?");
            s->bind(1, id).run();
        });
    }

    // ----- accounts -----
    Result<Account> add_account(std::string_view address, std::string_view hash, std::uint64_t quota) override {
        auto a = normalize_address(address);
        if (!a) return make_error(Errc::Invalid, "invalid address '" + std::string(address) + "'");
        auto parts = split_address(*a);
        Account out;
        auto st = write([&](Tx& tx) {
            auto did = domain_id_of(tx.db, parts.domain);
            {
                auto al = tx.db.prepare("SELECT 1 FROM aliases WHERE source = ?");
                al->bind(1, *a);
                if (al->step()) fail(Errc::AlreadyExists, "'" + *a + "' is already an alias");
            }
            auto s = tx.db.prepare(
                "INSERT INTO accounts (domain_id, address, password_hash, quota_bytes, created) VALUES (?, ?, ?, ?, ?)");
            try {
                s->bind(1, did).bind(2, *a).bind(3, hash).bind(4, static_cast<std::int64_t>(quota)).bind(5, tx.now).run();
            } catch (const DbError& e) {
                if (e.code() == SQLITE_CONSTRAINT_UNIQUE) fail(Errc::AlreadyExists, "account '" + *a + "' already exists");
                throw;
            }
            out.id = tx.db.last_insert_id();
            out.domain_id = did;
            out.address = *a;
            out.password_hash = std::string(hash);
            out.quota_bytes = quota;
            out.created = tx.now;
            for (auto& mb : kDefaultMailboxes) {
                auto m = tx.db.prepare(
                    "INSERT INTO mailboxes (account_id, name, special_use, subscribed, uidvalidity) VALUES (?, ?, ?, 1, ?)");
                m->bind(1, out.id).bind(2, mb.name).bind(3, mb.special_use).bind(4, next_uidvalidity(tx)).run();
            }
        });
        if (!st) return st.error();
        return out;
    }

    Result<std::vector<Account>> list_accounts(std::string_view domain) override {
        std::string d = lower(domain);  // domain names are stored lower-case (normalize_domain)
        return read<std::vector<Account>>([&](Db& db) {
            std::vector<Account> v;
            if (d.empty()) {
                auto s = db.prepare("SELECT " ACCOUNT_COLUMNS " FROM accounts ORDER BY address");
                while (s->step()) v.push_back(read_account(*s));
            } else {
                auto id = domain_id_of(db, d);
                auto s = db.prepare("SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE domain_id = ? ORDER BY address");
                s->bind(1, id);
                while (s->step()) v.push_back(read_account(*s));
            }
            return v;
        });
    }

    Result<Account> find_account(std::string_view address) override {
        std::string a(address);
        std::transform(a.begin(), a.end(), a.begin(), [](unsigned char c) { return std::tolower(c); });
        return read<Account>([&](Db& db) {
            auto s = db.prepare("SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE address = ?");
            s->bind(1, a);
            if (!s->step()) fail(Errc::NotFound, "unknown account '" + std::string(address) + "'");
            return read_account(*s);
        });
    }

    Result<Account> find_account_by_id(std::int64_t id) override {
        return read<Account>([&](Db& db) {
            auto s = db.prepare("SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE id = ?");
            s->bind(1, id);
            if (!s->step()) fail(Errc::NotFound, "unknown account id " + std::to_string(id));
            return read_account(*s);
        });
    }

    Status set_password(std::string_view address, std::string_view hash) override {
        return update_account(address, "UPDATE accounts SET password_hash = ?2 WHERE address = ?1",
                              [&](Stmt& s) { s.bind(2, hash); });
    }
    Status set_enabled(std::string_view address, bool enabled) override {
        return update_account(address, "UPDATE accounts SET enabled = ?2 WHERE address = ?1",
                              [&](Stmt& s) { s.bind(2, std::int64_t{enabled}); });
    }
    Status set_quota(std::string_view address, std::uint64_t quota) override {
        return update_account(address, "UPDATE accounts SET quota_bytes = ?2 WHERE address = ?1",
                              [&](Stmt& s) { s.bind(2, static_cast<std::int64_t>(quota)); });
    }

    Status remove_account(std::string_view address) override {
        std::string a = lower(address);
        return write([&](Tx& tx) {
            auto f = tx.db.prepare("SELECT id FROM accounts WHERE address = ?");
            f->bind(1, a);
            if (!f->step()) fail(Errc::NotFound, "unknown account '" + a + "'");
            auto id = f->int64(0);
            // Explicit deletes so the blob reference triggers run for every message.
            auto m = tx.db.prepare("DELETE FROM messages WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = ?)");
            m->bind(1, id).run();
            auto e = tx.db.prepare("DELETE FROM expunged WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = ?)");
            e->bind(1, id).run();
            auto mb = tx.db.prepare("DELETE FROM mailboxes WHERE account_id = ?");
            mb->bind(1, id).run();
            auto al = tx.db.prepare("DELETE FROM aliases WHERE target = ?");
            al->bind(1, a).run();
            auto d = tx.db.prepare("DELETE FROM accounts WHERE id = ?");
            d->bind(1, id).run();
        });
    }

    // ----- aliases -----
    Status add_alias(std::string_view source, const std::vector<std::string>& targets) override {
        auto src = normalize_alias_source(source);
        if (!src) return make_error(Errc::Invalid, "invalid alias source '" + std::string(source) + "'");
        if (targets.empty()) return make_error(Errc::Invalid, "an alias needs at least one target");
        std::vector<std::string> norm;
        for (auto& t : targets) {
            auto n = normalize_address(t);
            if (!n) return make_error(Errc::Invalid, "invalid alias target '" + t + "'");
            if (*n == *src) return make_error(Errc::Invalid, "alias '" + *src + "' cannot point to itself");
            norm.push_back(*n);
        }
        auto domain = src->front() == '@' ? src->substr(1) : split_address(*src).domain;
        return write([&](Tx& tx) {
            auto did = domain_id_of(tx.db, domain);
            if (src->front() != '@') {
                auto acc = tx.db.prepare("SELECT 1 FROM accounts WHERE address = ?");
                acc->bind(1, *src);
                if (acc->step()) fail(Errc::AlreadyExists, "'" + *src + "' is an account");
            }
            for (auto& t : norm) {
                auto s = tx.db.prepare("INSERT INTO aliases (domain_id, source, target) VALUES (?, ?, ?)");
                try {
                    s->bind(1, did).bind(2, *src).bind(3, t).run();
                } catch (const DbError& e) {
                    if (e.code() == SQLITE_CONSTRAINT_UNIQUE)
                        fail(Errc::AlreadyExists, "alias '" + *src + "' -> '" + t + "' already exists");
                    throw;
                }
            }
        });
    }

    Result<std::vector<AliasEntry>> list_aliases(std::string_view domain) override {
        std::string d = lower(domain);
        return read<std::vector<AliasEntry>>([&](Db& db) {
            std::vector<AliasEntry> v;
            auto add = [&](Stmt& s) {
                while (s.step()) {
                    auto src = s.text(0);
                    if (v.empty() || v.back().source != src) v.push_back({src, {}});
                    v.back().targets.push_back(s.text(1));
                }
            };
            if (d.empty()) {
                auto s = db.prepare("SELECT source, target FROM aliases ORDER BY source, target");
                add(*s);
            } else {
                auto id = domain_id_of(db, d);
                auto s = db.prepare("SELECT source, target FROM aliases WHERE domain_id = ? ORDER BY source, target");
                s->bind(1, id);
                add(*s);
            }
            return v;
        });
    }

    Status remove_alias(std::string_view source, std::string_view target) override {
        std::string src = lower(source), tgt = lower(target);
        return write([&](Tx& tx) {
            if (tgt.empty()) {
                auto s = tx.db.prepare("DELETE FROM aliases WHERE source = ?");
                s->bind(1, src).run();
            } else {
                auto s = tx.db.prepare("DELETE FROM aliases WHERE source = ? AND target = ?");
                s->bind(1, src).bind(2, tgt).run();
            }
            if (tx.db.changes() == 0)
                fail(Errc::NotFound, "unknown alias '" + src + (tgt.empty() ? "" : " -> " + tgt) + "'");
        });
    }

    Result<std::vector<std::string>> alias_targets(std::string_view source) override {
        std::string src = lower(source);
        return read<std::vector<std::string>>([&](Db& db) {
            std::vector<std::string> v;
            auto s = db.prepare("SELECT target FROM aliases WHERE source = ? ORDER BY target");
            s->bind(1, src);
            while (s->step()) v.push_back(s->text(0));
            return v;
        });
    }

    // ----- mailboxes -----
    Result<std::vector<Mailbox>> list_mailboxes(std::int64_t account_id) override {
        return read<std::vector<Mailbox>>([&](Db& db) {
            std::vector<Mailbox> v;
            auto s = db.prepare("SELECT " MAILBOX_COLUMNS " FROM mailboxes WHERE account_id = ? ORDER BY name = 'INBOX' DESC, name");
            s->bind(1, account_id);
            while (s->step()) v.push_back(read_mailbox(*s));
            return v;
        });
    }

    Result<Mailbox> find_mailbox(std::int64_t account_id, std::string_view name) override {
        return read<Mailbox>([&](Db& db) {
            auto s = db.prepare("SELECT " MAILBOX_COLUMNS " FROM mailboxes WHERE account_id = ? AND name = ?");
            s->bind(1, account_id).bind(2, name);
            if (!s->step()) fail(Errc::NotFound, "unknown mailbox '" + std::string(name) + "'");
            return read_mailbox(*s);
        });
    }

    // ----- delivery -----
    void deliver(DeliveryRequest req, Callback<DeliveryResult> done) override {
        std::sort(req.accounts.begin(), req.accounts.end());
        req.accounts.erase(std::unique(req.accounts.begin(), req.accounts.end()), req.accounts.end());
        if (req.accounts.empty() && req.remote.empty()) {
            done(make_error(Errc::Invalid, "delivery without recipients"));
            return;
        }
        // Parse once, here on the caller's thread, outside the write transaction (ARCHITECTURE.md).
        auto prepared = std::make_shared<Prepared>(prepare(req.raw));
        auto request = std::make_shared<DeliveryRequest>(std::move(req));
        auto result = std::make_shared<DeliveryResult>();
        writer_.submit(
            [request, prepared, result](Tx& tx) { deliver_in(tx, *request, *prepared, *result, true); },
            [result, done = std::move(done)](std::exception_ptr e) {
                if (e) done(from_exception(e));
                else done(std::move(*result));
            });
    }

    Result<std::string> message_bytes(std::int64_t message_id) override {
        return read<std::string>([&](Db& db) {
            auto s = db.prepare("SELECT b.data FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.id = ?");
            s->bind(1, message_id);
            if (!s->step()) fail(Errc::NotFound, "unknown message " + std::to_string(message_id));
            return std::string(s->blob(0));
        });
    }

#define QUEUE_COLUMNS                                                                                           \
    "q.id, q.sender, b.size, q.created, q.next_attempt, q.attempts, q.last_error, q.envid, q.ret, q.blob_id," \
    " q.lease_until, q.delay_notified, q.subject"

    Result<std::vector<QueueEntry>> list_queue() override {
        return read<std::vector<QueueEntry>>([&](Db& db) {
            std::vector<QueueEntry> v;
            auto s = db.prepare(
                "SELECT " QUEUE_COLUMNS " FROM queue q JOIN blobs b ON b.id = q.blob_id ORDER BY q.id");
            while (s->step()) {
                QueueEntry e;
                read_queue_row(*s, e);
                v.push_back(std::move(e));
            }
            for (auto& e : v) read_queue_recipients(db, e, false);
            return v;
        });
    }

    // ----- outbound queue (smtpd/outbound) -----
    static void read_queue_row(Stmt& s, QueueEntry& e) {
        e.id = s.int64(0);
        e.sender = s.text(1);
        e.size = static_cast<std::uint64_t>(s.int64(2));
        e.created = s.int64(3);
        e.next_attempt = s.int64(4);
        e.attempts = static_cast<std::uint32_t>(s.int64(5));
        e.last_error = s.text(6);
        e.envid = s.text(7);
        e.ret = s.text(8);
        e.blob_id = s.int64(9);
        e.lease_until = s.int64(10);
        e.delay_notified = s.int64(11) != 0;
        e.subject = s.text(12);
    }
    static void read_queue_recipients(Db& db, QueueEntry& e, bool open_only) {
        auto r = db.prepare(
            "SELECT id, address, orcpt, notify, status, last_reply, remote_mta FROM queue_recipients"
            " WHERE queue_id = ?1 AND (?2 = 0 OR status IN ('pending', 'deferred')) ORDER BY id");
        r->bind(1, e.id).bind(2, std::int64_t{open_only});
        while (r->step()) {
            QueuedRecipient q;
            q.address = r->text(1);
            q.orcpt = r->text(2);
            q.notify = static_cast<unsigned>(r->int64(3));
            q.id = r->int64(0);
            q.status = r->text(4);
            q.last_reply = r->text(5);
            q.remote_mta = r->text(6);
            e.recipients.push_back(std::move(q));
        }
    }

    Result<QueueEntry> queue_entry(std::int64_t id) override {
        return read<QueueEntry>([&](Db& db) {
            auto s = db.prepare("SELECT " QUEUE_COLUMNS " FROM queue q JOIN blobs b ON b.id = q.blob_id WHERE q.id = ?");
            s->bind(1, id);
            if (!s->step()) fail(Errc::NotFound, "no queue entry " + std::to_string(id));
            QueueEntry e;
            read_queue_row(*s, e);
            read_queue_recipients(db, e, false);
            return e;
        });
    }

    Result<std::string> queue_message(std::int64_t id) override {
        return read<std::string>([&](Db& db) {
            auto s = db.prepare("SELECT b.data FROM queue q JOIN blobs b ON b.id = q.blob_id WHERE q.id = ?");
            s->bind(1, id);
            if (!s->step()) fail(Errc::NotFound, "no queue entry " + std::to_string(id));
            return std::string(s->blob(0));
        });
    }

    Result<std::vector<QueueEntry>> claim_queue(std::int64_t now, std::chrono::seconds lease, std::size_t limit,
                                                std::string_view owner) override {
        std::vector<QueueEntry> out;
        std::string who(owner);
        auto st = write([&](Tx& tx) {
            out.clear();
            auto s = tx.db.prepare("SELECT " QUEUE_COLUMNS " FROM queue q JOIN blobs b ON b.id = q.blob_id"
                                   " WHERE q.next_attempt <= ?1 AND q.lease_until <= ?1 ORDER BY q.next_attempt, q.id"
                                   " LIMIT ?2");
            s->bind(1, now).bind(2, static_cast<std::int64_t>(limit));
            while (s->step()) {
                QueueEntry e;
                read_queue_row(*s, e);
                out.push_back(std::move(e));
            }
            for (auto& e : out) {
                e.lease_until = now + lease.count();
                auto u = tx.db.prepare("UPDATE queue SET lease_until = ?, lease_owner = ? WHERE id = ?");
                u->bind(1, e.lease_until).bind(2, who).bind(3, e.id).run();
                read_queue_recipients(tx.db, e, true);
            }
        });
        if (!st) return st.error();
        return out;
    }

    void complete_attempt(AttemptOutcome outcome, Callback<Ok> done) override {
        // Parse the notices here, outside the write transaction, as deliver() does.
        auto prepared = std::make_shared<std::vector<Prepared>>();
        for (auto& n : outcome.notices) prepared->push_back(prepare(n.raw));
        auto req = std::make_shared<AttemptOutcome>(std::move(outcome));
        writer_.submit(
            [req, prepared](Tx& tx) {
                auto& o = *req;
                auto chk = tx.db.prepare("SELECT 1 FROM queue WHERE id = ?");
                chk->bind(1, o.queue_id);
                bool exists = chk->step();
                for (auto& r : o.recipients) {
                    const char* status = r.status == RecipientOutcome::Status::Delivered ? "delivered"
                                         : r.status == RecipientOutcome::Status::Failed  ? "failed"
                                                                                         : "deferred";
                    // The delivery log: one line per recipient and attempt; "sent" counts deliveries.
                    auto who = tx.db.prepare(
                        "SELECT r.address, q.sender, q.subject, b.size FROM queue_recipients r JOIN queue q"
                        " ON q.id = r.queue_id JOIN blobs b ON b.id = q.blob_id WHERE r.id = ? AND r.queue_id = ?");
                    who->bind(1, r.recipient_id).bind(2, o.queue_id);
                    if (who->step()) {
                        LogLine l{"outbound", status, who->text(1), who->text(0)};
                        l.subject = who->text(2);
                        l.detail = r.reply;
                        l.size = who->int64(3);
                        log_line(tx, tx.now, l);
                    }
                    if (r.status == RecipientOutcome::Status::Delivered) count_traffic(tx, tx.now, "sent", 1);
                    auto u = tx.db.prepare(
                        "UPDATE queue_recipients SET status = ?, last_reply = ?, remote_mta = ?, updated = ?"
                        " WHERE id = ? AND queue_id = ?");
                    u->bind(1, status).bind(2, r.reply).bind(3, r.remote_mta).bind(4, tx.now).bind(5, r.recipient_id)
                        .bind(6, o.queue_id).run();
                }
                // Deleted meanwhile (`roost queue delete`): the notices are still owed for what happened.
                if (exists) {
                    auto u = tx.db.prepare(
                        "UPDATE queue SET attempts = attempts + 1, next_attempt = ?, last_error = ?, lease_until = 0,"
                        " lease_owner = '', delay_notified = MAX(delay_notified, ?) WHERE id = ?");
                    u->bind(1, o.next_attempt).bind(2, o.last_error).bind(3, std::int64_t{o.delay_notified})
                        .bind(4, o.queue_id).run();
                    auto left = tx.db.prepare(
                        "SELECT COUNT(*) FROM queue_recipients WHERE queue_id = ? AND status IN ('pending', 'deferred')");
                    left->bind(1, o.queue_id);
                    left->step();
                    if (left->int64(0) == 0) {
                        auto d = tx.db.prepare("DELETE FROM queue WHERE id = ?");
                        d->bind(1, o.queue_id).run();
                    }
                }
                for (std::size_t i = 0; i < o.notices.size(); ++i) {
                    DeliveryResult ignored;
                    deliver_in(tx, o.notices[i], (*prepared)[i], ignored, false);
                }
            },
            [done = std::move(done)](std::exception_ptr e) {
                if (e) done(from_exception(e));
                else done(Ok{});
            });
    }

    Result<std::optional<std::int64_t>> next_queue_due() override {
        return read<std::optional<std::int64_t>>([&](Db& db) -> std::optional<std::int64_t> {
            auto s = db.prepare("SELECT MIN(MAX(next_attempt, lease_until)) FROM queue");
            if (!s->step() || s->is_null(0)) return std::nullopt;
            return s->int64(0);
        });
    }

    Status retry_queue(std::int64_t id) override {
        return write([&](Tx& tx) {
            auto u = tx.db.prepare("UPDATE queue SET next_attempt = ?1 WHERE (?2 = 0 OR id = ?2) AND next_attempt > ?1");
            u->bind(1, tx.now).bind(2, id).run();
            if (id != 0) {
                auto c = tx.db.prepare("SELECT 1 FROM queue WHERE id = ?");
                c->bind(1, id);
                if (!c->step()) fail(Errc::NotFound, "no queue entry " + std::to_string(id));
            }
            tx.note_change(kQueueChannel, 0, static_cast<std::uint64_t>(id));
        });
    }

    Status delete_queue(std::int64_t id) override {
        return write([&](Tx& tx) {
            auto d = tx.db.prepare("DELETE FROM queue WHERE id = ?");
            d->bind(1, id).run();
            if (tx.db.changes() == 0) fail(Errc::NotFound, "no queue entry " + std::to_string(id));
        });
    }

    Result<std::size_t> release_queue_leases(std::string_view owner_prefix) override {
        std::size_t n = 0;
        std::string prefix(owner_prefix);
        auto st = write([&](Tx& tx) {
            auto u = tx.db.prepare(
                "UPDATE queue SET lease_until = 0, lease_owner = '' WHERE lease_owner != ''"
                " AND substr(lease_owner, 1, length(?1)) = ?1");
            u->bind(1, prefix).run();
            n = static_cast<std::size_t>(tx.db.changes());
        });
        if (!st) return st.error();
        return n;
    }

    std::unique_ptr<Subscription> subscribe_queue(std::function<void()> fn) override {
        if (!notifier_) return nullptr;
        return notifier_->subscribe(kQueueChannel, [fn = std::move(fn)](const MailboxChange&) { fn(); });
    }

    // ----- DKIM keys -----
    Status add_dkim_key(const DkimKey& key) override {
        auto d = normalize_domain(key.domain);
        if (!d) return make_error(Errc::Invalid, "invalid domain '" + key.domain + "'");
        if (key.selector.empty() || key.private_key_pem.empty())
            return make_error(Errc::Invalid, "a DKIM key needs a selector and a private key");
        auto st = write([&](Tx& tx) {
            auto s = tx.db.prepare(
                "INSERT INTO dkim_keys (domain, selector, algorithm, private_key, created) VALUES (?, ?, ?, ?, ?)");
            try {
                s->bind(1, *d).bind(2, key.selector).bind(3, key.algorithm).bind(4, key.private_key_pem)
                    .bind(5, key.created ? key.created : tx.now).run();
            } catch (const DbError& e) {
                if (e.code() == SQLITE_CONSTRAINT_UNIQUE)
                    fail(Errc::AlreadyExists, "DKIM selector '" + key.selector + "' already exists for " + *d);
                throw;
            }
        });
        // The database now holds a private key: never world-readable (nor are the WAL and its index).
        for (const char* suffix : {"", "-wal", "-shm"}) {
            std::string f = opt_.path + suffix;
            struct stat sb{};
            if (::stat(f.c_str(), &sb) == 0 && (sb.st_mode & 0007)) ::chmod(f.c_str(), sb.st_mode & 0770);
        }
        return st;
    }

    Result<std::vector<DkimKey>> dkim_keys(std::string_view domain) override {
        std::string d = lower(domain);
        return read<std::vector<DkimKey>>([&](Db& db) {
            std::vector<DkimKey> v;
            auto s = db.prepare("SELECT domain, selector, algorithm, private_key, created FROM dkim_keys"
                                " WHERE ?1 = '' OR domain = ?1 ORDER BY domain, created, id");
            s->bind(1, d);
            while (s->step()) v.push_back({s->text(0), s->text(1), s->text(2), s->text(3), s->int64(4)});
            return v;
        });
    }

    Status remove_dkim_key(std::string_view domain, std::string_view selector) override {
        std::string d = lower(domain);
        std::string sel(selector);
        return write([&](Tx& tx) {
            auto s = tx.db.prepare("DELETE FROM dkim_keys WHERE domain = ? AND selector = ?");
            s->bind(1, d).bind(2, sel).run();
            if (tx.db.changes() == 0) fail(Errc::NotFound, "no DKIM key " + sel + " for " + d);
        });
    }

    // ----- auth throttle -----
    Result<FailureRecord> auth_failures(std::string_view key) override {
        return read<FailureRecord>([&](Db& db) {
            auto s = db.prepare("SELECT failures, last_failure FROM auth_failures WHERE key = ?");
            s->bind(1, key);
            FailureRecord r;
            if (s->step()) {
                r.failures = static_cast<std::uint32_t>(s->int64(0));
                r.last_failure = s->int64(1);
            }
            return r;
        });
    }

    Status record_auth_failure(std::string_view key, std::chrono::seconds window) override {
        std::string k(key);
        return write([&](Tx& tx) {
            auto s = tx.db.prepare(
                "INSERT INTO auth_failures (key, failures, last_failure) VALUES (?1, 1, ?2)"
                " ON CONFLICT(key) DO UPDATE SET failures = CASE WHEN last_failure < ?2 - ?3 THEN 1"
                " ELSE failures + 1 END, last_failure = ?2");
            s->bind(1, k).bind(2, tx.now).bind(3, static_cast<std::int64_t>(window.count())).run();
        });
    }

    Status clear_auth_failures(std::string_view key) override {
        std::string k(key);
        return write([&](Tx& tx) {
            auto s = tx.db.prepare("DELETE FROM auth_failures WHERE key = ?");
            s->bind(1, k).run();
        });
    }

    // ----- roost-admin: administrators, panel sessions, API tokens, delivery log, statistics -----
    Result<AdminAccount> add_admin(std::string_view address, std::string_view hash) override {
        auto a = normalize_address(address);
        if (!a) return make_error(Errc::Invalid, "invalid address '" + std::string(address) + "'");
        AdminAccount out;
        auto st = write([&](Tx& tx) {
            auto s = tx.db.prepare("INSERT INTO admins (address, password_hash, created) VALUES (?, ?, ?)");
            try {
                s->bind(1, *a).bind(2, hash).bind(3, tx.now).run();
            } catch (const DbError& e) {
                if (e.code() == SQLITE_CONSTRAINT_UNIQUE) fail(Errc::AlreadyExists, "admin '" + *a + "' already exists");
                throw;
            }
            out = AdminAccount{tx.db.last_insert_id(), *a, std::string(hash), tx.now};
        });
        if (!st) return st.error();
        return out;
    }

    Result<AdminAccount> find_admin(std::string_view address) override {
        std::string a = lower(address);
        return read<AdminAccount>([&](Db& db) {
            auto s = db.prepare("SELECT id, address, password_hash, created FROM admins WHERE address = ?");
            s->bind(1, a);
            if (!s->step()) fail(Errc::NotFound, "unknown admin '" + a + "'");
            return AdminAccount{s->int64(0), s->text(1), s->text(2), s->int64(3)};
        });
    }

    Result<std::vector<AdminAccount>> list_admins() override {
        return read<std::vector<AdminAccount>>([&](Db& db) {
            std::vector<AdminAccount> v;
            auto s = db.prepare("SELECT id, address, password_hash, created FROM admins ORDER BY address");
            while (s->step()) v.push_back({s->int64(0), s->text(1), s->text(2), s->int64(3)});
            return v;
        });
    }

    Status set_admin_password(std::string_view address, std::string_view hash) override {
        std::string a = lower(address);
        std::string h(hash);
        return write([&](Tx& tx) {
            auto s = tx.db.prepare("UPDATE admins SET password_hash = ? WHERE address = ?");
            s->bind(1, h).bind(2, a).run();
            if (tx.db.changes() == 0) fail(Errc::NotFound, "unknown admin '" + a + "'");
        });
    }

    Status remove_admin(std::string_view address) override {
        std::string a = lower(address);
        return write([&](Tx& tx) {
            auto s = tx.db.prepare("DELETE FROM admins WHERE address = ?");
            s->bind(1, a).run();
            if (tx.db.changes() == 0) fail(Errc::NotFound, "unknown admin '" + a + "'");
            // Logged-in panels and scripts of that admin stop working at once.
            auto w = tx.db.prepare("DELETE FROM web_sessions WHERE subject = ? AND is_admin = 1");
            w->bind(1, a).run();
            auto t = tx.db.prepare("DELETE FROM api_tokens WHERE admin = ?");
            t->bind(1, a).run();
        });
    }

    Status add_web_session(const WebSession& w) override {
        return write([&](Tx& tx) {
            auto d = tx.db.prepare("DELETE FROM web_sessions WHERE expires <= ?");
            d->bind(1, tx.now).run();
            auto s = tx.db.prepare(
                "INSERT INTO web_sessions (id_digest, subject, is_admin, csrf, created, expires) VALUES (?, ?, ?, ?, ?, ?)");
            s->bind(1, w.id_digest).bind(2, lower(w.subject)).bind(3, std::int64_t{w.is_admin ? 1 : 0})
                .bind(4, w.csrf).bind(5, tx.now).bind(6, w.expires).run();
        });
    }

    Result<WebSession> find_web_session(std::string_view id_digest, std::int64_t now) override {
        std::string id(id_digest);
        if (now == 0) now = unix_now();
        return read<WebSession>([&](Db& db) {
            auto s = db.prepare("SELECT id_digest, subject, is_admin, csrf, created, expires FROM web_sessions"
                                " WHERE id_digest = ? AND expires > ?");
            s->bind(1, id).bind(2, now);
            if (!s->step()) fail(Errc::NotFound, "no such session");
            return WebSession{s->text(0), s->text(1), s->int64(2) != 0, s->text(3), s->int64(4), s->int64(5)};
        });
    }

    Status remove_web_session(std::string_view id_digest) override {
        std::string id(id_digest);
        return write([&](Tx& tx) {
            auto s = tx.db.prepare("DELETE FROM web_sessions WHERE id_digest = ?");
            s->bind(1, id).run();
        });
    }

    Status remove_web_sessions_of(std::string_view subject, std::string_view keep) override {
        std::string sub = lower(subject), k(keep);
        return write([&](Tx& tx) {
            auto s = tx.db.prepare("DELETE FROM web_sessions WHERE subject = ? AND id_digest != ?");
            s->bind(1, sub).bind(2, k).run();
        });
    }

    Result<ApiToken> add_api_token(std::string_view name, std::string_view digest, std::string_view admin) override {
        if (name.empty() || name.size() > 100) return make_error(Errc::Invalid, "a token needs a name of 1 to 100 characters");
        ApiToken out;
        auto st = write([&](Tx& tx) {
            auto s = tx.db.prepare("INSERT INTO api_tokens (name, token_digest, admin, created) VALUES (?, ?, ?, ?)");
            s->bind(1, name).bind(2, digest).bind(3, lower(admin)).bind(4, tx.now).run();
            out = ApiToken{tx.db.last_insert_id(), std::string(name), std::string(digest), lower(admin), tx.now, 0};
        });
        if (!st) return st.error();
        return out;
    }

    Result<std::vector<ApiToken>> list_api_tokens() override {
        return read<std::vector<ApiToken>>([&](Db& db) {
            std::vector<ApiToken> v;
            auto s = db.prepare("SELECT id, name, token_digest, admin, created, last_used FROM api_tokens ORDER BY id");
            while (s->step()) v.push_back({s->int64(0), s->text(1), s->text(2), s->text(3), s->int64(4), s->int64(5)});
            return v;
        });
    }

    Result<ApiToken> use_api_token(std::string_view digest, std::int64_t now) override {
        std::string d(digest);
        auto t = read<ApiToken>([&](Db& db) {
            auto s = db.prepare("SELECT id, name, token_digest, admin, created, last_used FROM api_tokens"
                                " WHERE token_digest = ?");
            s->bind(1, d);
            if (!s->step()) fail(Errc::NotFound, "unknown token");
            return ApiToken{s->int64(0), s->text(1), s->text(2), s->text(3), s->int64(4), s->int64(5)};
        });
        // Record the use at most once a minute: a script polling the API should not cost a commit per call.
        if (t && now - t->last_used >= 60) {
            auto id = t->id;
            (void)write([&](Tx& tx) {
                auto s = tx.db.prepare("UPDATE api_tokens SET last_used = ? WHERE id = ?");
                s->bind(1, now).bind(2, id).run();
            });
            t->last_used = now;
        }
        return t;
    }

    Status remove_api_token(std::int64_t id) override {
        return write([&](Tx& tx) {
            auto s = tx.db.prepare("DELETE FROM api_tokens WHERE id = ?");
            s->bind(1, id).run();
            if (tx.db.changes() == 0) fail(Errc::NotFound, "unknown token " + std::to_string(id));
        });
    }

    Result<std::vector<DeliveryLogEntry>> recent_deliveries(const DeliveryLogQuery& query) override {
        auto lim = static_cast<std::int64_t>(std::clamp<std::size_t>(query.limit, 1, 10000));
        return read<std::vector<DeliveryLogEntry>>([&](Db& db) {
            std::vector<DeliveryLogEntry> v;
            // instr() over lower(): a plain substring, no LIKE wildcards to escape (ASCII case folding).
            auto s = db.prepare(
                "SELECT id, time, direction, status, sender, recipient, mailbox, subject, detail, client, size"
                " FROM mail_log WHERE (?1 = '' OR status = ?1)"
                " AND (?2 = '' OR instr(lower(sender), ?2) > 0 OR instr(lower(recipient), ?2) > 0"
                " OR instr(lower(subject), ?2) > 0)"
                " ORDER BY id DESC LIMIT ?3");
            s->bind(1, query.status).bind(2, lower(query.text)).bind(3, lim);
            while (s->step()) {
                DeliveryLogEntry e;
                e.id = s->int64(0);
                e.time = s->int64(1);
                e.direction = s->text(2);
                e.status = s->text(3);
                e.sender = s->text(4);
                e.recipient = s->text(5);
                e.mailbox = s->text(6);
                e.subject = s->text(7);
                e.detail = s->text(8);
                e.client = s->text(9);
                e.size = static_cast<std::uint64_t>(s->int64(10));
                v.push_back(std::move(e));
            }
            return v;
        });
    }

    void record_rejection(Rejection r) override {
        if (r.time == 0) r.time = unix_now();
        bool submit = false;
        {
            std::lock_guard lock(rejections_mu_);
            if (rejections_.size() >= kMaxWaitingRejections) {
                ++rejections_dropped_;  // still counted in the hour's total
            } else {
                rejections_.push_back(std::move(r));
            }
            submit = !std::exchange(rejections_flush_queued_, true);
        }
        // Best effort: a failed write loses log lines, never mail; nobody waits for it.
        if (submit) writer_.submit([this](Tx& tx) { flush_rejections(tx); }, [](std::exception_ptr) {});
    }

    Result<std::vector<TrafficHour>> traffic(std::int64_t since) override {
        return read<std::vector<TrafficHour>>([&](Db& db) {
            std::vector<TrafficHour> v;
            auto s = db.prepare("SELECT hour, received, sent, rejected FROM traffic_hours WHERE hour >= ? ORDER BY hour");
            s->bind(1, since - since % 3600);
            while (s->step())
                v.push_back({s->int64(0), static_cast<std::uint64_t>(s->int64(1)), static_cast<std::uint64_t>(s->int64(2)),
                             static_cast<std::uint64_t>(s->int64(3))});
            return v;
        });
    }

    Result<StoreStats> stats() override {
        auto r = read<StoreStats>([&](Db& db) {
            StoreStats st;
            auto s = db.prepare("SELECT (SELECT COUNT(*) FROM domains), (SELECT COUNT(*) FROM accounts),"
                                " (SELECT COUNT(DISTINCT source) FROM aliases), (SELECT COUNT(*) FROM messages),"
                                " (SELECT COUNT(*) FROM queue), (SELECT COALESCE(SUM(size), 0) FROM blobs)");
            s->step();
            st.domains = static_cast<std::uint64_t>(s->int64(0));
            st.accounts = static_cast<std::uint64_t>(s->int64(1));
            st.aliases = static_cast<std::uint64_t>(s->int64(2));
            st.messages = static_cast<std::uint64_t>(s->int64(3));
            st.queue = static_cast<std::uint64_t>(s->int64(4));
            st.message_bytes = static_cast<std::uint64_t>(s->int64(5));
            return st;
        });
        if (!r) return r;
        for (const char* suffix : {"", "-wal"}) {
            struct stat sb{};
            if (::stat((opt_.path + suffix).c_str(), &sb) == 0) r->database_bytes += static_cast<std::uint64_t>(sb.st_size);
        }
        return r;
    }

    // ----- mailbox management -----
    static std::string normalize_mailbox_name(std::string_view name) {
        std::string n(name);
        // RFC 9051 §5.1: INBOX is case-insensitive; so is the INBOX prefix of its inferiors (as in Dovecot).
        if (n.size() >= 5 && strncasecmp(n.c_str(), "inbox", 5) == 0 && (n.size() == 5 || n[5] == '/'))
            n.replace(0, 5, "INBOX");
        return n;
    }
    static bool valid_mailbox_name(std::string_view n) {
        if (n.empty() || n.size() > 512 || n.front() == '/' || n.back() == '/') return false;
        if (n.find("//") != std::string_view::npos) return false;
        for (unsigned char c : n)
            if (c < 0x20 || c == 0x7f || c == '*' || c == '%') return false;
        return true;
    }
    static bool valid_special_use(std::string_view s) {
        return s.empty() || s == "\\All" || s == "\\Archive" || s == "\\Drafts" || s == "\\Flagged" ||
               s == "\\Junk" || s == "\\Sent" || s == "\\Trash";
    }
    static bool mailbox_exists(Db& db, std::int64_t account_id, const std::string& name) {
        auto e = db.prepare("SELECT 1 FROM mailboxes WHERE account_id = ? AND name = ?");
        e->bind(1, account_id).bind(2, name);
        return e->step();
    }
    static void create_in(Tx& tx, std::int64_t account_id, const std::string& name, std::string_view special_use,
                          bool must_be_new) {
        // RFC 9051 §6.3.4: create superior names that do not exist yet.
        for (std::size_t slash = name.find('/'); slash != std::string::npos; slash = name.find('/', slash + 1)) {
            auto parent = name.substr(0, slash);
            if (!mailbox_exists(tx.db, account_id, parent)) create_in(tx, account_id, parent, {}, false);
        }
        if (mailbox_exists(tx.db, account_id, name)) {
            if (must_be_new) fail(Errc::AlreadyExists, "mailbox '" + name + "' already exists");
            return;
        }
        auto uv = next_uidvalidity(tx);
        auto s = tx.db.prepare("INSERT INTO mailboxes (account_id, name, special_use, uidvalidity) VALUES (?, ?, ?, ?)");
        s->bind(1, account_id).bind(2, name).bind(3, special_use).bind(4, std::int64_t{uv}).run();
    }

    Result<Mailbox> create_mailbox(std::int64_t account_id, std::string_view name, std::string_view special_use) override {
        auto n = normalize_mailbox_name(name);
        if (!valid_mailbox_name(n)) return make_error(Errc::Invalid, "invalid mailbox name");
        if (!valid_special_use(special_use)) return make_error(Errc::Invalid, "unsupported special-use attribute");
        auto st = write([&](Tx& tx) { create_in(tx, account_id, n, special_use, true); });
        if (!st) return st.error();
        return find_mailbox(account_id, n);
    }

    Status delete_mailbox(std::int64_t account_id, std::string_view name) override {
        auto n = normalize_mailbox_name(name);
        if (n == "INBOX") return make_error(Errc::Invalid, "INBOX cannot be deleted");
        return write([&](Tx& tx) {
            auto f = tx.db.prepare("SELECT id, size FROM mailboxes WHERE account_id = ? AND name = ?");
            f->bind(1, account_id).bind(2, n);
            if (!f->step()) fail(Errc::NotFound, "unknown mailbox '" + n + "'");
            auto id = f->int64(0), size = f->int64(1);
            auto c = tx.db.prepare("SELECT 1 FROM mailboxes WHERE account_id = ? AND substr(CAST(name AS BLOB), 1, ?) = CAST(? AS BLOB) LIMIT 1");
            c->bind(1, account_id).bind(2, static_cast<std::int64_t>(n.size() + 1)).bind(3, n + "/");
            // Deviation (as Dovecot): a mailbox with inferiors is not deleted (RFC 9051 §6.3.9 would keep it as
            // \Noselect); delete the children first.
            if (c->step()) fail(Errc::Invalid, "mailbox '" + n + "' has children; delete them first");
            auto m = tx.db.prepare("DELETE FROM messages WHERE mailbox_id = ?");
            m->bind(1, id).run();
            auto e = tx.db.prepare("DELETE FROM expunged WHERE mailbox_id = ?");
            e->bind(1, id).run();
            auto d = tx.db.prepare("DELETE FROM mailboxes WHERE id = ?");
            d->bind(1, id).run();
            auto a = tx.db.prepare("UPDATE accounts SET used_bytes = MAX(0, used_bytes - ?) WHERE id = ?");
            a->bind(1, size).bind(2, account_id).run();
            tx.note_change(account_id, id, 0);
        });
    }

    Status rename_mailbox(std::int64_t account_id, std::string_view from_name, std::string_view to_name) override {
        auto from = normalize_mailbox_name(from_name), to = normalize_mailbox_name(to_name);
        if (!valid_mailbox_name(to)) return make_error(Errc::Invalid, "invalid mailbox name");
        if (to == "INBOX" || to.starts_with(from + "/")) return make_error(Errc::Invalid, "cannot rename to '" + to + "'");
        return write([&](Tx& tx) {
            auto f = tx.db.prepare("SELECT id FROM mailboxes WHERE account_id = ? AND name = ?");
            f->bind(1, account_id).bind(2, from);
            if (!f->step()) fail(Errc::NotFound, "unknown mailbox '" + from + "'");
            auto id = f->int64(0);
            f->reset();  // the INBOX branch below runs this same cached statement again
            if (mailbox_exists(tx.db, account_id, to)) fail(Errc::AlreadyExists, "mailbox '" + to + "' already exists");
            if (from == "INBOX") {
                // RFC 9051 §6.3.10: move INBOX's messages to the new name; INBOX stays, empty.
                create_in(tx, account_id, to, {}, true);
                auto dst_id = [&] {
                    auto q = tx.db.prepare("SELECT id FROM mailboxes WHERE account_id = ? AND name = ?");
                    q->bind(1, account_id).bind(2, to);
                    q->step();
                    return q->int64(0);
                }();
                std::vector<std::uint32_t> uids;
                {
                    auto l = tx.db.prepare("SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid");
                    l->bind(1, id);
                    while (l->step()) uids.push_back(static_cast<std::uint32_t>(l->int64(0)));
                }
                CopyResult ignored;
                copy_in(tx, id, uids, dst_id, true, ignored, false);
                return;
            }
            if (auto slash = to.rfind('/'); slash != std::string::npos) create_in(tx, account_id, to.substr(0, slash), {}, false);
            auto r = tx.db.prepare(
                // Byte offsets (CAST AS BLOB): substr() of TEXT counts characters, and names are UTF-8.
                "UPDATE mailboxes SET name = ?3 || CAST(substr(CAST(name AS BLOB), ?4) AS TEXT) WHERE account_id = ?1"
                " AND (name = ?2 OR substr(CAST(name AS BLOB), 1, ?5) = CAST(?2 || '/' AS BLOB))");
            r->bind(1, account_id).bind(2, from).bind(3, to).bind(4, static_cast<std::int64_t>(from.size() + 1))
                .bind(5, static_cast<std::int64_t>(from.size() + 1)).run();
            tx.note_change(account_id, id, 0);
        });
    }

    Status set_subscribed(std::int64_t account_id, std::string_view name, bool subscribed) override {
        auto n = normalize_mailbox_name(name);
        return write([&](Tx& tx) {
            auto s = tx.db.prepare("UPDATE mailboxes SET subscribed = ? WHERE account_id = ? AND name = ?");
            s->bind(1, std::int64_t{subscribed}).bind(2, account_id).bind(3, n).run();
            if (tx.db.changes() == 0) fail(Errc::NotFound, "unknown mailbox '" + n + "'");
        });
    }

    // ----- messages -----
    static std::vector<std::string> split_keywords(const std::string& s) {
        std::vector<std::string> out;
        std::size_t i = 0;
        while (i < s.size()) {
            auto sp = s.find(' ', i);
            if (sp == std::string::npos) sp = s.size();
            if (sp > i) out.push_back(s.substr(i, sp - i));
            i = sp + 1;
        }
        return out;
    }
    static std::string join_keywords(const std::vector<std::string>& k) {
        std::string s;
        for (auto& w : k) {
            if (!s.empty()) s += ' ';
            s += w;
        }
        return s;
    }
    static MessageInfo read_message(Stmt& s) {
        MessageInfo m;
        m.id = s.int64(0);
        m.uid = static_cast<std::uint32_t>(s.int64(1));
        m.modseq = static_cast<std::uint64_t>(s.int64(2));
        m.flags = static_cast<std::uint32_t>(s.int64(3));
        m.keywords = split_keywords(s.text(4));
        m.internal_date = s.int64(5);
        m.size = static_cast<std::uint64_t>(s.int64(6));
        m.blob_id = s.int64(7);
        m.recent = s.int64(8) != 0;
        return m;
    }
#define MESSAGE_COLUMNS "id, uid, modseq, flags, keywords, internal_date, size, blob_id, recent"

    using MailStore::list_messages;
    Result<std::vector<MessageInfo>> list_messages(std::int64_t mailbox_id, std::uint32_t uid_first,
                                                   std::uint32_t uid_last) override {
        return read<std::vector<MessageInfo>>([&](Db& db) {
            std::vector<MessageInfo> v;
            auto s = db.prepare("SELECT " MESSAGE_COLUMNS " FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid");
            s->bind(1, mailbox_id).bind(2, static_cast<std::int64_t>(uid_first)).bind(3, static_cast<std::int64_t>(uid_last));
            while (s->step()) v.push_back(read_message(*s));
            return v;
        });
    }

    Result<MailboxDelta> changes_since(std::int64_t mailbox_id, std::uint64_t modseq) override {
        return read<MailboxDelta>([&](Db& db) {
            MailboxDelta d;
            db.exec("BEGIN");  // one consistent snapshot for the three reads
            try {
                auto mb = db.prepare("SELECT " MAILBOX_COLUMNS " FROM mailboxes WHERE id = ?");
                mb->bind(1, mailbox_id);
                if (!mb->step()) fail(Errc::NotFound, "mailbox no longer exists");
                d.mailbox = read_mailbox(*mb);
                auto s = db.prepare("SELECT " MESSAGE_COLUMNS " FROM messages WHERE mailbox_id = ? AND modseq > ? ORDER BY uid");
                s->bind(1, mailbox_id).bind(2, static_cast<std::int64_t>(modseq));
                while (s->step()) d.changed.push_back(read_message(*s));
                auto e = db.prepare("SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid");
                e->bind(1, mailbox_id).bind(2, static_cast<std::int64_t>(modseq));
                while (e->step()) d.expunged.push_back(static_cast<std::uint32_t>(e->int64(0)));
            } catch (...) {
                sqlite3_exec(db.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
                throw;
            }
            db.exec("COMMIT");
            return d;
        });
    }

    Result<std::vector<std::uint32_t>> claim_recent(std::int64_t mailbox_id) override {
        std::vector<std::uint32_t> uids;
        auto st = write([&](Tx& tx) {
            auto s = tx.db.prepare("UPDATE messages SET recent = 0 WHERE mailbox_id = ? AND recent = 1 RETURNING uid");
            s->bind(1, mailbox_id);
            while (s->step()) uids.push_back(static_cast<std::uint32_t>(s->int64(0)));
        });
        if (!st) return st.error();
        std::sort(uids.begin(), uids.end());
        return uids;
    }

    Result<std::string> blob(std::int64_t blob_id) override {
        return read<std::string>([&](Db& db) {
            auto s = db.prepare("SELECT data FROM blobs WHERE id = ?");
            s->bind(1, blob_id);
            if (!s->step()) fail(Errc::NotFound, "message data not found");
            return std::string(s->blob(0));
        });
    }

    Result<std::string> blob_range(std::int64_t blob_id, std::uint64_t offset, std::uint64_t length) override {
        return read<std::string>([&](Db& db) {
            sqlite3_blob* b = nullptr;
            int rc = sqlite3_blob_open(db.raw(), "main", "blobs", "data", blob_id, 0, &b);
            if (rc != SQLITE_OK) {
                if (b) sqlite3_blob_close(b);
                if (rc == SQLITE_ERROR) fail(Errc::NotFound, "message data not found");
                db.fail(rc, "blob_open");
            }
            auto total = static_cast<std::uint64_t>(sqlite3_blob_bytes(b));
            std::string out;
            if (offset < total) {
                auto n = std::min(length, total - offset);
                out.resize(n);
                rc = sqlite3_blob_read(b, out.data(), static_cast<int>(n), static_cast<int>(offset));
            }
            sqlite3_blob_close(b);
            if (rc != SQLITE_OK) db.fail(rc, "blob_read");
            return out;
        });
    }

    Result<std::string> parsed_structure(std::int64_t blob_id) override {
        return read<std::string>([&](Db& db) {
            auto s = db.prepare("SELECT parsed FROM blob_parsed WHERE blob_id = ?");
            s->bind(1, blob_id);
            if (!s->step()) return std::string();  // stored without a parse
            return std::string(s->blob(0));
        });
    }

    Result<std::vector<std::string>> parsed_structures(const std::vector<std::int64_t>& blob_ids) override {
        return read<std::vector<std::string>>([&](Db& db) {
            std::vector<std::string> out(blob_ids.size());
            std::string ids = "[";
            for (std::size_t i = 0; i < blob_ids.size(); ++i) {
                if (i) ids += ',';
                ids += std::to_string(blob_ids[i]);
            }
            ids += ']';
            std::unordered_map<std::int64_t, std::string> found;
            auto s = db.prepare("SELECT blob_id, parsed FROM blob_parsed WHERE blob_id IN (SELECT value FROM json_each(?))");
            s->bind(1, ids);
            while (s->step()) found.emplace(s->int64(0), std::string(s->blob(1)));
            for (std::size_t i = 0; i < blob_ids.size(); ++i)
                if (auto it = found.find(blob_ids[i]); it != found.end()) out[i] = it->second;
            return out;
        });
    }

    // FTS5 query for an IMAP substring: every token must appear, in order, the last one as a prefix.
    // Deviation: matching is by word (and word prefix), not by arbitrary substring, as with Dovecot's FTS.
    static std::string fts_query(std::string_view text) {
        std::vector<std::string> tokens;
        std::string cur;
        auto flush = [&] {
            if (!cur.empty()) tokens.push_back(cur);
            cur.clear();
        };
        for (unsigned char c : text) {
            if (std::isalnum(c) || c >= 0x80) cur += static_cast<char>(c);
            else flush();
        }
        flush();
        std::string q;
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            if (i) q += " + ";
            q += "\"" + tokens[i] + "\"";
            if (i + 1 == tokens.size()) q += " *";
        }
        return q;
    }

    Result<std::vector<std::uint32_t>> search_text(const SearchTextQuery& query) override {
        auto q = fts_query(query.text);
        // SEARCH BODY looks in the body column only; SEARCH TEXT in header and body (RFC 9051 §6.4.4).
        if (!q.empty() && !query.headers_too) q = "body : (" + q + ")";
        return read<std::vector<std::uint32_t>>([&](Db& db) {
            std::vector<std::uint32_t> v;
            if (q.empty()) {  // an empty string matches every message (RFC 9051 §6.4.4 substring of anything)
                auto s = db.prepare("SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid");
                s->bind(1, query.mailbox_id);
                while (s->step()) v.push_back(static_cast<std::uint32_t>(s->int64(0)));
                return v;
            }
            auto s = db.prepare(
                "SELECT m.uid FROM messages m WHERE m.mailbox_id = ?1 AND m.blob_id IN"
                " (SELECT rowid FROM message_text WHERE message_text MATCH ?2) ORDER BY m.uid");
            s->bind(1, query.mailbox_id).bind(2, q);
            while (s->step()) v.push_back(static_cast<std::uint32_t>(s->int64(0)));
            return v;
        });
    }

    Result<std::uint64_t> account_usage(std::int64_t account_id) override {
        return read<std::uint64_t>([&](Db& db) {
            auto s = db.prepare("SELECT used_bytes FROM accounts WHERE id = ?");
            s->bind(1, account_id);
            if (!s->step()) fail(Errc::NotFound, "unknown account");
            return static_cast<std::uint64_t>(s->int64(0));
        });
    }

    static bool has_keyword(const std::vector<std::string>& v, const std::string& k) {
        for (auto& x : v)
            if (strcasecmp(x.c_str(), k.c_str()) == 0) return true;
        return false;
    }

    void store_flags(std::int64_t mailbox_id, FlagUpdate update, Callback<FlagResult> done) override {
        auto u = std::make_shared<FlagUpdate>(std::move(update));
        auto result = std::make_shared<FlagResult>();
        writer_.submit(
            [mailbox_id, u, result](Tx& tx) {
                auto mb = mailbox_row(tx.db, mailbox_id);
                auto next = mb.modseq + 1;
                std::int64_t unseen_delta = 0;
                bool changed_any = false;
                std::sort(u->uids.begin(), u->uids.end());
                u->uids.erase(std::unique(u->uids.begin(), u->uids.end()), u->uids.end());
                for (auto uid : u->uids) {
                    auto s = tx.db.prepare("SELECT " MESSAGE_COLUMNS " FROM messages WHERE mailbox_id = ? AND uid = ?");
                    s->bind(1, mailbox_id).bind(2, std::int64_t{uid});
                    if (!s->step()) continue;  // expunged meanwhile: nothing to do
                    auto m = read_message(*s);
                    if (u->unchanged_since && m.modseq > *u->unchanged_since) {
                        result->modified.push_back(uid);  // RFC 7162 §3.1.3
                        continue;
                    }
                    auto flags = m.flags;
                    auto keywords = m.keywords;
                    switch (u->op) {
                        case FlagOp::Add:
                            flags |= u->flags;
                            for (auto& k : u->keywords)
                                if (!has_keyword(keywords, k)) keywords.push_back(k);
                            break;
                        case FlagOp::Remove:
                            flags &= ~u->flags;
                            std::erase_if(keywords, [&](const std::string& k) { return has_keyword(u->keywords, k); });
                            break;
                        case FlagOp::Replace:
                            flags = u->flags;
                            keywords.clear();
                            for (auto& k : u->keywords)
                                if (!has_keyword(keywords, k)) keywords.push_back(k);
                            break;
                    }
                    if (flags == m.flags && keywords == m.keywords) {
                        // RFC 7162 §3.1.3: an UNCHANGEDSINCE store reports the message even if nothing changed.
                        if (u->unchanged_since) result->updated.push_back(m);
                        continue;
                    }
                    if ((m.flags & kFlagSeen) && !(flags & kFlagSeen)) ++unseen_delta;
                    if (!(m.flags & kFlagSeen) && (flags & kFlagSeen)) --unseen_delta;
                    auto w = tx.db.prepare("UPDATE messages SET flags = ?, keywords = ?, modseq = ? WHERE id = ?");
                    w->bind(1, std::int64_t{flags}).bind(2, join_keywords(keywords)).bind(3, static_cast<std::int64_t>(next))
                        .bind(4, m.id).run();
                    m.flags = flags;
                    m.keywords = std::move(keywords);
                    m.modseq = next;
                    result->updated.push_back(std::move(m));
                    changed_any = true;
                }
                if (changed_any) {
                    mb.modseq = next;
                    auto up = tx.db.prepare("UPDATE mailboxes SET unseen = unseen + ? WHERE id = ?");
                    up->bind(1, unseen_delta).bind(2, mailbox_id).run();
                    finish_mailbox(tx, mb);
                }
                result->highest_modseq = mb.modseq;
            },
            [result, done = std::move(done)](std::exception_ptr e) {
                if (e) done(from_exception(e));
                else done(std::move(*result));
            });
    }

    // Removes messages and records their UIDs as expunged at one new modseq. Returns the UIDs removed.
    static std::vector<std::uint32_t> expunge_in(Tx& tx, MailboxRow& mb, const std::vector<std::uint32_t>& uids) {
        std::vector<std::uint32_t> removed;
        std::int64_t bytes = 0, unseen = 0;
        auto next = mb.modseq + 1;
        for (auto uid : uids) {
            auto s = tx.db.prepare("SELECT id, size, flags FROM messages WHERE mailbox_id = ? AND uid = ?");
            s->bind(1, mb.id).bind(2, std::int64_t{uid});
            if (!s->step()) continue;
            auto id = s->int64(0);
            bytes += s->int64(1);
            if (!(s->int64(2) & kFlagSeen)) ++unseen;
            auto d = tx.db.prepare("DELETE FROM messages WHERE id = ?");
            d->bind(1, id).run();
            auto e = tx.db.prepare("INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)");
            e->bind(1, mb.id).bind(2, std::int64_t{uid}).bind(3, static_cast<std::int64_t>(next)).run();
            removed.push_back(uid);
        }
        if (removed.empty()) return removed;
        mb.modseq = next;
        auto up = tx.db.prepare(
            "UPDATE mailboxes SET messages = messages - ?2, unseen = unseen - ?3, size = size - ?4 WHERE id = ?1");
        up->bind(1, mb.id).bind(2, static_cast<std::int64_t>(removed.size())).bind(3, unseen).bind(4, bytes).run();
        auto acc = tx.db.prepare("UPDATE accounts SET used_bytes = MAX(0, used_bytes - ?) WHERE id = ?");
        acc->bind(1, bytes).bind(2, mb.account_id).run();
        finish_mailbox(tx, mb);
        return removed;
    }

    void expunge(std::int64_t mailbox_id, std::vector<std::uint32_t> uids, Callback<std::vector<std::uint32_t>> done) override {
        auto in = std::make_shared<std::vector<std::uint32_t>>(std::move(uids));
        auto result = std::make_shared<std::vector<std::uint32_t>>();
        std::sort(in->begin(), in->end());
        writer_.submit(
            [mailbox_id, in, result](Tx& tx) {
                auto mb = mailbox_row(tx.db, mailbox_id);
                *result = expunge_in(tx, mb, *in);
            },
            [result, done = std::move(done)](std::exception_ptr e) {
                if (e) done(from_exception(e));
                else done(std::move(*result));
            });
    }

    void append(AppendRequest req, Callback<AppendResult> done) override {
        auto prepared = std::make_shared<Prepared>();
        try {
            auto parsed = mail::parse_message(req.raw);
            prepared->parsed = mail::to_blob(parsed);
            prepared->header_text = mail::extract_header_text(parsed);
            prepared->body_text = mail::extract_body_text(req.raw, parsed);
        } catch (const std::exception&) {
            *prepared = Prepared{};
        }
        auto request = std::make_shared<AppendRequest>(std::move(req));
        auto result = std::make_shared<AppendResult>();
        writer_.submit(
            [request, prepared, result](Tx& tx) {
                auto mb = mailbox_row(tx.db, request->mailbox_id);
                if (mb.account_id != request->account_id) fail(Errc::NotFound, "unknown mailbox");
                auto size = static_cast<std::int64_t>(request->raw.size());
                check_quota(tx.db, mb.account_id, size);
                auto blob_id = insert_blob(tx, request->raw, *prepared);
                ++mb.modseq;
                std::uint32_t uid = 0;
                insert_message(tx, mb, blob_id, size, request->flags, join_keywords(request->keywords),
                               request->internal_date ? request->internal_date : tx.now, uid);
                finish_mailbox(tx, mb);
                result->uidvalidity = mb.uidvalidity;
                result->uid = uid;
            },
            [result, done = std::move(done)](std::exception_ptr e) {
                if (e) done(from_exception(e));
                else done(*result);
            });
    }

    static void copy_in(Tx& tx, std::int64_t source, const std::vector<std::uint32_t>& uids, std::int64_t dest, bool move,
                        CopyResult& out, bool quota) {
        auto src = mailbox_row(tx.db, source);
        auto dst = mailbox_row(tx.db, dest);
        if (src.account_id != dst.account_id) fail(Errc::NotFound, "unknown mailbox");
        std::vector<MessageInfo> msgs;
        std::int64_t total = 0;
        for (auto uid : uids) {
            auto s = tx.db.prepare("SELECT " MESSAGE_COLUMNS " FROM messages WHERE mailbox_id = ? AND uid = ?");
            s->bind(1, source).bind(2, std::int64_t{uid});
            if (!s->step()) continue;
            msgs.push_back(read_message(*s));
            total += static_cast<std::int64_t>(msgs.back().size);
        }
        if (quota && !move) check_quota(tx.db, dst.account_id, total);
        ++dst.modseq;
        for (auto& m : msgs) {
            std::uint32_t uid = 0;
            insert_message(tx, dst, m.blob_id, static_cast<std::int64_t>(m.size), m.flags, join_keywords(m.keywords),
                           m.internal_date, uid);
            out.source_uids.push_back(m.uid);
            out.dest_uids.push_back(uid);
        }
        out.uidvalidity = dst.uidvalidity;
        if (msgs.empty()) return;
        finish_mailbox(tx, dst);
        if (move) expunge_in(tx, src, out.source_uids);
    }

    void copy(std::int64_t source, std::vector<std::uint32_t> uids, std::int64_t dest, bool move,
              Callback<CopyResult> done) override {
        auto in = std::make_shared<std::vector<std::uint32_t>>(std::move(uids));
        std::sort(in->begin(), in->end());
        in->erase(std::unique(in->begin(), in->end()), in->end());
        auto result = std::make_shared<CopyResult>();
        writer_.submit([source, dest, move, in, result](Tx& tx) { copy_in(tx, source, *in, dest, move, *result, true); },
                       [result, done = std::move(done)](std::exception_ptr e) {
                           if (e) done(from_exception(e));
                           else done(std::move(*result));
                       });
    }

    class FileLock final : public Lock {
    public:
        explicit FileLock(int fd) : fd_(fd) {}
        ~FileLock() override { ::close(fd_); }  // closing the descriptor releases the flock

    private:
        int fd_;
    };

    Result<std::unique_ptr<Lock>> lock_maildrop(std::int64_t account_id) override {
        // flock(2) on a file in run/: exclusive across processes (and containers sharing the volume), released
        // by the kernel when the holder exits, and per open file so two sessions in one process also conflict.
        auto path = run_dir_ + "/maildrop-" + std::to_string(account_id) + ".lock";
        int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0) return make_error(Errc::Temporary, "cannot open lock file");
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            ::close(fd);
            return make_error(Errc::InUse, "maildrop is locked by another session");
        }
        return std::unique_ptr<Lock>(std::make_unique<FileLock>(fd));
    }

    std::unique_ptr<Subscription> subscribe(std::int64_t account_id,
                                            std::function<void(const MailboxChange&)> fn) override {
        if (!notifier_) return nullptr;
        return notifier_->subscribe(account_id, std::move(fn));
    }

private:
    // Change-notification channel for the outbound queue: no account has id 0.
    static constexpr std::int64_t kQueueChannel = 0;

    static Prepared prepare(const std::string& raw) {
        Prepared p;
        try {
            auto parsed = mail::parse_message(raw);
            p.parsed = mail::to_blob(parsed);
            p.header_text = mail::extract_header_text(parsed);
            p.body_text = mail::extract_body_text(raw, parsed);
            p.subject = clip(mail::decode_rfc2047(parsed.envelope.subject), 300);
        } catch (const std::exception&) {
            // A parser bug must never lose mail: store the bytes without the precomputed parse.
            p = Prepared{};
        }
        return p;
    }

    static std::int64_t insert_blob(Tx& tx, const std::string& raw, const Prepared& prep) {
        auto b = tx.db.prepare("INSERT INTO blobs (size, data) VALUES (?, ?)");
        b->bind(1, static_cast<std::int64_t>(raw.size())).bind_blob(2, raw);
        b->run();
        auto blob_id = tx.db.last_insert_id();
        if (!prep.parsed.empty()) {
            auto p = tx.db.prepare("INSERT INTO blob_parsed (blob_id, parsed) VALUES (?, ?)");
            p->bind(1, blob_id).bind_blob(2, prep.parsed).run();
        }
        if (!prep.header_text.empty() || !prep.body_text.empty()) {
            auto t = tx.db.prepare("INSERT INTO message_text (rowid, header, body) VALUES (?, ?, ?)");
            t->bind(1, blob_id).bind(2, prep.header_text).bind(3, prep.body_text).run();
        }
        return blob_id;
    }

    static MailboxRow mailbox_row(Db& db, std::int64_t mailbox_id) {
        auto s = db.prepare("SELECT id, account_id, uidvalidity, uidnext, highest_modseq FROM mailboxes WHERE id = ?");
        s->bind(1, mailbox_id);
        if (!s->step()) fail(Errc::NotFound, "unknown mailbox id " + std::to_string(mailbox_id));
        return {s->int64(0), s->int64(1), static_cast<std::uint32_t>(s->int64(2)), static_cast<std::uint32_t>(s->int64(3)),
                static_cast<std::uint64_t>(s->int64(4))};
    }

    // Adds one message row and keeps the mailbox counters and the account's usage in step. The caller
    // bumps the mailbox's modseq/uidnext (bump_mailbox) once per transaction step.
    static std::int64_t insert_message(Tx& tx, MailboxRow& mb, std::int64_t blob_id, std::int64_t size, std::uint32_t flags,
                                       const std::string& keywords, std::int64_t date, std::uint32_t& uid_out) {
        uid_out = mb.uidnext++;
        auto ins = tx.db.prepare(
            "INSERT INTO messages (mailbox_id, uid, modseq, flags, keywords, internal_date, size, blob_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        ins->bind(1, mb.id).bind(2, std::int64_t{uid_out}).bind(3, static_cast<std::int64_t>(mb.modseq))
            .bind(4, std::int64_t{flags}).bind(5, keywords).bind(6, date).bind(7, size).bind(8, blob_id).run();
        auto id = tx.db.last_insert_id();
        auto up = tx.db.prepare(
            "UPDATE mailboxes SET messages = messages + 1, unseen = unseen + ?2, size = size + ?3 WHERE id = ?1");
        up->bind(1, mb.id).bind(2, std::int64_t{(flags & kFlagSeen) ? 0 : 1}).bind(3, size).run();
        auto acc = tx.db.prepare("UPDATE accounts SET used_bytes = used_bytes + ? WHERE id = ?");
        acc->bind(1, size).bind(2, mb.account_id).run();
        return id;
    }

    // Writes uidnext/highest_modseq back and publishes the change.
    static void finish_mailbox(Tx& tx, const MailboxRow& mb) {
        auto s = tx.db.prepare("UPDATE mailboxes SET uidnext = ?2, highest_modseq = ?3 WHERE id = ?1");
        s->bind(1, mb.id).bind(2, std::int64_t{mb.uidnext}).bind(3, static_cast<std::int64_t>(mb.modseq)).run();
        tx.note_change(mb.account_id, mb.id, mb.modseq);
    }

    static void check_quota(Db& db, std::int64_t account_id, std::int64_t adding) {
        auto q = db.prepare("SELECT quota_bytes, used_bytes FROM accounts WHERE id = ?");
        q->bind(1, account_id);
        if (!q->step()) fail(Errc::NotFound, "unknown account id " + std::to_string(account_id));
        auto quota = q->int64(0), used = q->int64(1);
        if (quota > 0 && used + adding > quota) fail(Errc::OverQuota, "quota exceeded");
    }

    // `received`: a message roost-smtpd accepted (counted per hour), not a notice made by the delivery service.
    static void deliver_in(Tx& tx, const DeliveryRequest& req, const Prepared& prep, DeliveryResult& out,
                           bool received) {
        auto date = req.internal_date ? req.internal_date : tx.now;
        auto size = static_cast<std::int64_t>(req.raw.size());
        auto blob_id = insert_blob(tx, req.raw, prep);
        for (auto account : req.accounts) {
            auto mbq = tx.db.prepare(
                "SELECT mb.id, a.address FROM mailboxes mb JOIN accounts a ON a.id = mb.account_id"
                " WHERE mb.account_id = ? AND mb.name = 'INBOX'");
            mbq->bind(1, account);
            if (!mbq->step()) fail(Errc::NotFound, "account " + std::to_string(account) + " has no INBOX");
            auto mb = mailbox_row(tx.db, mbq->int64(0));
            ++mb.modseq;
            std::uint32_t uid = 0;
            out.message_ids.push_back(insert_message(tx, mb, blob_id, size, 0, "", date, uid));
            finish_mailbox(tx, mb);
            LogLine l{"local", "delivered", req.envelope_from, mbq->text(1)};
            l.mailbox = "INBOX";
            l.subject = prep.subject;
            l.size = size;
            log_line(tx, tx.now, l);
        }
        if (!req.remote.empty()) {
            auto q = tx.db.prepare(
                "INSERT INTO queue (blob_id, sender, envid, ret, created, next_attempt, subject) VALUES (?, ?, ?, ?, ?, ?, ?)");
            q->bind(1, blob_id).bind(2, req.envelope_from).bind(3, req.dsn_envid).bind(4, req.dsn_ret).bind(5, tx.now)
                .bind(6, tx.now).bind(7, prep.subject).run();
            out.queue_id = tx.db.last_insert_id();
            for (auto& r : req.remote) {
                auto qr = tx.db.prepare("INSERT INTO queue_recipients (queue_id, address, orcpt, notify) VALUES (?, ?, ?, ?)");
                qr->bind(1, out.queue_id).bind(2, r.address).bind(3, r.orcpt).bind(4, static_cast<std::int64_t>(r.notify)).run();
                LogLine l{"outbound", "queued", req.envelope_from, r.address};
                l.subject = prep.subject;
                l.size = size;
                log_line(tx, tx.now, l);
            }
            tx.note_change(kQueueChannel, 0, static_cast<std::uint64_t>(out.queue_id));  // wake delivery
        }
        if (received) count_traffic(tx, tx.now, "received", 1);
        prune_log(tx);
    }

    // ----- the delivery log and hourly counts -----
    struct LogLine {
        LogLine(const char* direction, const char* status, std::string sender, std::string recipient)
            : direction(direction), status(status), sender(std::move(sender)), recipient(std::move(recipient)) {}
        const char* direction;
        const char* status;
        std::string sender, recipient;
        std::string mailbox, subject, detail, client;
        std::int64_t size = 0;
    };
    static std::string clip(std::string s, std::size_t n) {
        if (s.size() <= n) return s;
        s.resize(n);
        while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();  // whole UTF-8
        if (!s.empty() && (static_cast<unsigned char>(s.back()) & 0x80)) s.pop_back();
        return s;
    }
    static void log_line(Tx& tx, std::int64_t time, const LogLine& l) {
        auto s = tx.db.prepare(
            "INSERT INTO mail_log (time, direction, status, sender, recipient, mailbox, subject, detail, client, size)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        s->bind(1, time).bind(2, l.direction).bind(3, l.status).bind(4, clip(l.sender, 320))
            .bind(5, clip(l.recipient, 320)).bind(6, l.mailbox).bind(7, clip(l.subject, 300)).bind(8, clip(l.detail, 600))
            .bind(9, clip(l.client, 64)).bind(10, l.size).run();
    }
    // `column` is one of the fixed names "received", "sent", "rejected".
    static void count_traffic(Tx& tx, std::int64_t time, const char* column, std::int64_t n) {
        std::string sql = std::string("INSERT INTO traffic_hours (hour, ") + column + ") VALUES (?1, ?2)"
                          " ON CONFLICT(hour) DO UPDATE SET " + column + " = " + column + " + ?2";
        auto s = tx.db.prepare(sql.c_str());
        s->bind(1, time - time % 3600).bind(2, n).run();
    }
    // Both deletes are index range scans that find nothing most of the time.
    static void prune_log(Tx& tx) {
        auto t = tx.db.prepare("DELETE FROM mail_log WHERE time < ?");
        t->bind(1, tx.now - std::int64_t{kLogRetentionDays} * 86400).run();
        auto n = tx.db.prepare("DELETE FROM mail_log WHERE id <= (SELECT MAX(id) FROM mail_log) - ?");
        n->bind(1, static_cast<std::int64_t>(kLogMaxRows)).run();
        auto h = tx.db.prepare("DELETE FROM traffic_hours WHERE hour < ?");
        h->bind(1, tx.now - std::int64_t{kTrafficRetentionDays} * 86400).run();
    }
    static constexpr int kTrafficRetentionDays = 90;

    // Rejections wait here for the writer: one job per commit however many arrive (record_rejection).
    void flush_rejections(Tx& tx) {
        std::vector<Rejection> batch;
        std::uint64_t dropped = 0;
        {
            std::lock_guard lock(rejections_mu_);
            batch.swap(rejections_);
            dropped = std::exchange(rejections_dropped_, 0);
            rejections_flush_queued_ = false;
        }
        for (auto& r : batch) {
            LogLine l{"inbound", "rejected", r.sender, r.recipient};
            l.subject = r.subject;
            l.detail = r.reply;
            l.client = r.client;
            l.size = static_cast<std::int64_t>(r.size);
            log_line(tx, r.time, l);
            count_traffic(tx, r.time, "rejected", 1);
        }
        if (dropped) count_traffic(tx, tx.now, "rejected", static_cast<std::int64_t>(dropped));
        prune_log(tx);
    }

    static std::string parent_dir(const std::string& path) {
        auto slash = path.rfind('/');
        return slash == std::string::npos ? "." : path.substr(0, slash);
    }
    static std::string lower(std::string_view s) {
        std::string o(s);
        std::transform(o.begin(), o.end(), o.begin(), [](unsigned char c) { return std::tolower(c); });
        return o;
    }

    template <class Fn>
    Status update_account(std::string_view address, const char* sql, Fn bind) {
        std::string a = lower(address);
        return write([&](Tx& tx) {
            auto s = tx.db.prepare(sql);
            s->bind(1, a);
            bind(*s);
            s->run();
            if (tx.db.changes() == 0) fail(Errc::NotFound, "unknown account '" + a + "'");
        });
    }

    Status write(const std::function<void(Tx&)>& job) {
        try {
            writer_.run(job);
            return Ok{};
        } catch (...) {
            return from_exception(std::current_exception());
        }
    }

    // Reads run on a pooled connection on the caller's thread.
    template <class T, class Fn>
    Result<T> read(Fn fn) {
        std::unique_ptr<Db> db;
        {
            std::lock_guard lock(pool_mu_);
            if (!pool_.empty()) {
                db = std::move(pool_.back());
                pool_.pop_back();
            }
        }
        try {
            if (!db) db = std::make_unique<Db>(opt_.path, static_cast<int>(opt_.busy_timeout.count()));
            T value = fn(*db);
            release(std::move(db));
            return value;
        } catch (const JobError& j) {
            release(std::move(db));
            return j.error;
        } catch (const DbError& e) {
            return to_error(e);  // drop the connection: it may be in a bad state
        }
    }
    void release(std::unique_ptr<Db> db) {
        if (!db) return;
        std::lock_guard lock(pool_mu_);
        if (pool_.size() < 16) pool_.push_back(std::move(db));
    }

    StoreOptions opt_;
    std::string run_dir_;
    ChangePublisher publisher_;
    // Declared before writer_: its thread runs the last flush_rejections job while shutting down.
    static constexpr std::size_t kMaxWaitingRejections = 10000;
    std::mutex rejections_mu_;
    std::vector<Rejection> rejections_;
    std::uint64_t rejections_dropped_ = 0;
    bool rejections_flush_queued_ = false;
    GroupCommitWriter writer_;
    std::unique_ptr<ChangeNotifier> notifier_;
    std::mutex pool_mu_;
    std::vector<std::unique_ptr<Db>> pool_;
};

}  // namespace sqlite

const char* errc_name(Errc e) {
    switch (e) {
        case Errc::NotFound: return "not found";
        case Errc::AlreadyExists: return "already exists";
        case Errc::Invalid: return "invalid";
        case Errc::OverQuota: return "over quota";
        case Errc::InUse: return "in use";
        case Errc::Temporary: return "temporary failure";
        case Errc::StorageFull: return "storage full";
        case Errc::Internal: return "internal error";
    }
    return "?";
}

Result<DeliveryResult> MailStore::deliver_sync(DeliveryRequest request) {
    std::promise<Result<DeliveryResult>> p;
    auto f = p.get_future();
    deliver(std::move(request), [&p](Result<DeliveryResult> r) { p.set_value(std::move(r)); });
    return f.get();
}

std::unique_ptr<MailStore> open_sqlite_store(const StoreOptions& options) {
    return std::make_unique<sqlite::SqliteStore>(options);
}

}  // namespace roost::store
