// SQLite implementation of MailStore: one database file in WAL mode shared by every Roost process.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <mutex>
#include <set>

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

constexpr std::int64_t kSeen = 1;

struct DefaultMailbox {
    const char* name;
    const char* special_use;
};
// RFC 6154 §2 special-use attributes for the folders every new account gets.
constexpr DefaultMailbox kDefaultMailboxes[] = {
    {"INBOX", ""}, {"Drafts", "\\Drafts"}, {"Sent", "\\Sent"},
    {"Trash", "\\Trash"}, {"Junk", "\\Junk"}, {"Archive", "\\Archive"},
};

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

Error to_error(const DbError& e) {
    int primary = e.code() & 0xff;
    if (e.code() == SQLITE_CONSTRAINT_UNIQUE || e.code() == SQLITE_CONSTRAINT_PRIMARYKEY)
        return make_error(Errc::AlreadyExists, "already exists");
    if (primary == SQLITE_FULL) return make_error(Errc::Temporary, "storage full: " + std::string(e.what()));
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
public:
    explicit SqliteStore(const StoreOptions& opt)
        : opt_(opt),
          publisher_(opt.run_dir.empty() ? parent_dir(opt.path) + "/run" : opt.run_dir),
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
        std::string d(domain);
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
        auto prepared = std::make_shared<Prepared>();
        try {
            auto parsed = mail::parse_message(req.raw);
            prepared->parsed = mail::to_blob(parsed);
            prepared->text = mail::extract_text(req.raw, parsed);
        } catch (const std::exception& e) {
            // A parser bug must never lose mail: store the bytes without the precomputed parse.
            prepared->parsed.clear();
            prepared->text.clear();
        }
        auto request = std::make_shared<DeliveryRequest>(std::move(req));
        auto result = std::make_shared<DeliveryResult>();
        writer_.submit(
            [request, prepared, result](Tx& tx) { deliver_in(tx, *request, *prepared, *result); },
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

    Result<std::vector<QueueEntry>> list_queue() override {
        return read<std::vector<QueueEntry>>([&](Db& db) {
            std::vector<QueueEntry> v;
            auto s = db.prepare(
                "SELECT q.id, q.sender, b.size, q.created, q.next_attempt, q.attempts, q.last_error"
                " FROM queue q JOIN blobs b ON b.id = q.blob_id ORDER BY q.id");
            while (s->step()) {
                QueueEntry e;
                e.id = s->int64(0);
                e.sender = s->text(1);
                e.size = static_cast<std::uint64_t>(s->int64(2));
                e.created = s->int64(3);
                e.next_attempt = s->int64(4);
                e.attempts = static_cast<std::uint32_t>(s->int64(5));
                e.last_error = s->text(6);
                v.push_back(std::move(e));
            }
            for (auto& e : v) {
                auto r = db.prepare("SELECT address, orcpt, notify FROM queue_recipients WHERE queue_id = ? ORDER BY id");
                r->bind(1, e.id);
                while (r->step())
                    e.recipients.push_back({r->text(0), r->text(1), static_cast<unsigned>(r->int64(2))});
            }
            return v;
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

    std::unique_ptr<Subscription> subscribe(std::int64_t account_id,
                                            std::function<void(const MailboxChange&)> fn) override {
        if (!notifier_) return nullptr;
        return notifier_->subscribe(account_id, std::move(fn));
    }

private:
    struct Prepared {
        std::string parsed, text;
    };

    static void deliver_in(Tx& tx, const DeliveryRequest& req, const Prepared& prep, DeliveryResult& out) {
        auto date = req.internal_date ? req.internal_date : tx.now;
        auto size = static_cast<std::int64_t>(req.raw.size());
        auto b = tx.db.prepare("INSERT INTO blobs (size, data, parsed) VALUES (?, ?, ?)");
        b->bind(1, size).bind_blob(2, req.raw);
        if (prep.parsed.empty()) b->bind_null(3);
        else b->bind_blob(3, prep.parsed);
        b->run();
        auto blob_id = tx.db.last_insert_id();
        if (!prep.text.empty()) {
            auto t = tx.db.prepare("INSERT INTO message_text (rowid, body) VALUES (?, ?)");
            t->bind(1, blob_id).bind(2, prep.text).run();
        }
        for (auto account : req.accounts) {
            auto mb = tx.db.prepare("SELECT id, uidnext, highest_modseq FROM mailboxes WHERE account_id = ? AND name = 'INBOX'");
            mb->bind(1, account);
            if (!mb->step()) fail(Errc::NotFound, "account " + std::to_string(account) + " has no INBOX");
            auto mailbox = mb->int64(0), uid = mb->int64(1), modseq = mb->int64(2) + 1;
            auto ins = tx.db.prepare(
                "INSERT INTO messages (mailbox_id, uid, modseq, internal_date, size, blob_id) VALUES (?, ?, ?, ?, ?, ?)");
            ins->bind(1, mailbox).bind(2, uid).bind(3, modseq).bind(4, date).bind(5, size).bind(6, blob_id).run();
            out.message_ids.push_back(tx.db.last_insert_id());
            auto up = tx.db.prepare(
                "UPDATE mailboxes SET uidnext = ?2 + 1, highest_modseq = ?3, messages = messages + 1,"
                " unseen = unseen + 1, size = size + ?4 WHERE id = ?1");
            up->bind(1, mailbox).bind(2, uid).bind(3, modseq).bind(4, size).run();
            auto acc = tx.db.prepare("UPDATE accounts SET used_bytes = used_bytes + ? WHERE id = ?");
            acc->bind(1, size).bind(2, account).run();
            tx.note_change(account, mailbox, static_cast<std::uint64_t>(modseq));
        }
        if (!req.remote.empty()) {
            auto q = tx.db.prepare(
                "INSERT INTO queue (blob_id, sender, envid, ret, created, next_attempt) VALUES (?, ?, ?, ?, ?, ?)");
            q->bind(1, blob_id).bind(2, req.envelope_from).bind(3, req.dsn_envid).bind(4, req.dsn_ret).bind(5, tx.now).bind(6, tx.now).run();
            out.queue_id = tx.db.last_insert_id();
            for (auto& r : req.remote) {
                auto qr = tx.db.prepare("INSERT INTO queue_recipients (queue_id, address, orcpt, notify) VALUES (?, ?, ?, ?)");
                qr->bind(1, out.queue_id).bind(2, r.address).bind(3, r.orcpt).bind(4, static_cast<std::int64_t>(r.notify)).run();
            }
        }
        (void)kSeen;
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
    ChangePublisher publisher_;
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
