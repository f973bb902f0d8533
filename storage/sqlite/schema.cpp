#include "storage/sqlite/schema.hpp"

#include <string>

namespace roost::store::sqlite {
namespace {

// Migrations are append-only: never edit one that has shipped; add the next.
const char* const kMigrations[] = {
    // 1: the foundation schema.
    R"sql(
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO meta (key, value) VALUES ('last_uidvalidity', 0);

CREATE TABLE domains (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL
);

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    domain_id     INTEGER NOT NULL REFERENCES domains(id),
    address       TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    quota_bytes   INTEGER NOT NULL DEFAULT 0,
    used_bytes    INTEGER NOT NULL DEFAULT 0,
    enabled       INTEGER NOT NULL DEFAULT 1,
    created       INTEGER NOT NULL
);
CREATE INDEX accounts_domain ON accounts(domain_id);

-- One row per (source, target). source is local@domain or @domain (catch-all).
CREATE TABLE aliases (
    id        INTEGER PRIMARY KEY,
    domain_id INTEGER NOT NULL REFERENCES domains(id),
    source    TEXT NOT NULL,
    target    TEXT NOT NULL,
    UNIQUE (source, target)
);
CREATE INDEX aliases_domain ON aliases(domain_id);

CREATE TABLE mailboxes (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    special_use    TEXT NOT NULL DEFAULT '',
    subscribed     INTEGER NOT NULL DEFAULT 0,
    uidvalidity    INTEGER NOT NULL,
    uidnext        INTEGER NOT NULL DEFAULT 1,
    highest_modseq INTEGER NOT NULL DEFAULT 1,
    messages       INTEGER NOT NULL DEFAULT 0,
    unseen         INTEGER NOT NULL DEFAULT 0,
    size           INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, name)
);

-- Raw message bytes, stored once however many mailboxes (or queue entries) refer to them, with the
-- parse done at delivery (header fields, envelope, MIME part tree with byte offsets) so FETCH never re-parses.
CREATE TABLE blobs (
    id       INTEGER PRIMARY KEY,
    size     INTEGER NOT NULL,
    refcount INTEGER NOT NULL DEFAULT 0,
    data     BLOB NOT NULL,
    parsed   BLOB
);

CREATE TABLE messages (
    id            INTEGER PRIMARY KEY,
    mailbox_id    INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid           INTEGER NOT NULL,
    modseq        INTEGER NOT NULL,
    flags         INTEGER NOT NULL DEFAULT 0,   -- bit 0 \Seen, 1 \Answered, 2 \Flagged, 3 \Deleted, 4 \Draft
    keywords      TEXT NOT NULL DEFAULT '',
    recent        INTEGER NOT NULL DEFAULT 1,
    internal_date INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    blob_id       INTEGER NOT NULL REFERENCES blobs(id),
    UNIQUE (mailbox_id, uid)
);
CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
CREATE INDEX messages_blob ON messages(blob_id);

-- Expunged UIDs with the modseq of their removal (RFC 7162 QRESYNC VANISHED).
CREATE TABLE expunged (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid        INTEGER NOT NULL,
    modseq     INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;

-- Full-text index over decoded text parts (rowid = blobs.id), built at delivery.
CREATE VIRTUAL TABLE message_text USING fts5(body, tokenize = 'unicode61 remove_diacritics 2');

CREATE TRIGGER messages_blob_ref AFTER INSERT ON messages BEGIN
    UPDATE blobs SET refcount = refcount + 1 WHERE id = NEW.blob_id;
END;
CREATE TRIGGER messages_blob_unref AFTER DELETE ON messages BEGIN
    UPDATE blobs SET refcount = refcount - 1 WHERE id = OLD.blob_id;
    DELETE FROM message_text WHERE rowid = OLD.blob_id
        AND (SELECT refcount FROM blobs WHERE id = OLD.blob_id) <= 0;
    DELETE FROM blobs WHERE id = OLD.blob_id AND refcount <= 0;
END;

-- Wake-up log for change notification across processes: (mailbox, modseq) per committed change.
CREATE TABLE changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL,
    mailbox_id INTEGER NOT NULL,
    modseq     INTEGER NOT NULL,
    at         INTEGER NOT NULL
);

-- Outbound queue (RFC 5321 §4.5.4): one entry per accepted message with remote recipients.
CREATE TABLE queue (
    id           INTEGER PRIMARY KEY,
    blob_id      INTEGER NOT NULL REFERENCES blobs(id),
    sender       TEXT NOT NULL,
    envid        TEXT NOT NULL DEFAULT '',
    ret          TEXT NOT NULL DEFAULT '',
    created      INTEGER NOT NULL,
    next_attempt INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX queue_due ON queue(next_attempt);
CREATE TABLE queue_recipients (
    id         INTEGER PRIMARY KEY,
    queue_id   INTEGER NOT NULL REFERENCES queue(id) ON DELETE CASCADE,
    address    TEXT NOT NULL,
    orcpt      TEXT NOT NULL DEFAULT '',
    notify     INTEGER NOT NULL DEFAULT 0,
    status     TEXT NOT NULL DEFAULT 'pending',
    last_reply TEXT NOT NULL DEFAULT ''
);
CREATE INDEX queue_recipients_queue ON queue_recipients(queue_id);
CREATE TRIGGER queue_blob_ref AFTER INSERT ON queue BEGIN
    UPDATE blobs SET refcount = refcount + 1 WHERE id = NEW.blob_id;
END;
CREATE TRIGGER queue_blob_unref AFTER DELETE ON queue BEGIN
    UPDATE blobs SET refcount = refcount - 1 WHERE id = OLD.blob_id;
    DELETE FROM message_text WHERE rowid = OLD.blob_id
        AND (SELECT refcount FROM blobs WHERE id = OLD.blob_id) <= 0;
    DELETE FROM blobs WHERE id = OLD.blob_id AND refcount <= 0;
END;

-- Failed logins shared by every daemon (per client address and per account).
CREATE TABLE auth_failures (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    last_failure INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    // 2: outbound delivery (smtpd/outbound): leases so that a crash mid-delivery retries, per-recipient
    // outcomes, the delay-notice flag, DKIM signing keys.
    R"sql(
ALTER TABLE queue ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queue ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE queue ADD COLUMN delay_notified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queue_recipients ADD COLUMN remote_mta TEXT NOT NULL DEFAULT '';
ALTER TABLE queue_recipients ADD COLUMN updated INTEGER NOT NULL DEFAULT 0;
CREATE INDEX queue_recipients_open ON queue_recipients(queue_id, status);

CREATE TABLE dkim_keys (
    id          INTEGER PRIMARY KEY,
    domain      TEXT NOT NULL,
    selector    TEXT NOT NULL,
    algorithm   TEXT NOT NULL,
    private_key TEXT NOT NULL,
    created     INTEGER NOT NULL,
    UNIQUE (domain, selector)
);
)sql",
    // 3: roost-admin (admin-ui/): panel administrators, login sessions and API tokens. Session ids and
    // tokens are stored only as SHA-256 digests, so a copy of the database does not log anyone in.
    R"sql(
CREATE TABLE admins (
    id            INTEGER PRIMARY KEY,
    address       TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created       INTEGER NOT NULL
);
CREATE TABLE web_sessions (
    id_digest TEXT PRIMARY KEY,
    subject   TEXT NOT NULL,
    is_admin  INTEGER NOT NULL,
    csrf      TEXT NOT NULL,
    created   INTEGER NOT NULL,
    expires   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    token_digest TEXT NOT NULL UNIQUE,
    admin        TEXT NOT NULL,
    created      INTEGER NOT NULL,
    last_used    INTEGER NOT NULL DEFAULT 0
);
)sql",
    // 4: the full-text index keeps the header and the body apart, so SEARCH BODY does not match the
    // Subject and SEARCH TEXT matches every header field (RFC 9051 §6.4.4). Text indexed before this
    // migration is dropped (pre-release databases only).
    R"sql(
DROP TABLE message_text;
CREATE VIRTUAL TABLE message_text USING fts5(header, body, tokenize = 'unicode61 remove_diacritics 2');
)sql",
    // 5: the precomputed MIME parse moves out of `blobs` into its own table. SQLite stores a row's columns
    // in order, so reading `parsed` after a large `data` walked the message's whole overflow-page chain:
    // FETCH ENVELOPE of a 5 MiB message read 5 MiB. blobs.parsed stays (always NULL) — SQLite 3.40 cannot
    // drop a column in one statement cheaply, and an unused NULL costs one byte per row.
    R"sql(
CREATE TABLE blob_parsed (
    blob_id INTEGER PRIMARY KEY REFERENCES blobs(id) ON DELETE CASCADE,
    parsed  BLOB NOT NULL
);
INSERT INTO blob_parsed (blob_id, parsed) SELECT id, parsed FROM blobs WHERE parsed IS NOT NULL;
UPDATE blobs SET parsed = NULL WHERE parsed IS NOT NULL;
)sql",
    // 6: the delivery log and hourly traffic counts (roost-admin's delivery log and dashboard chart). Both are
    // written in the transactions that move the mail (and by record_rejection for refused SMTP steps) and
    // pruned as they grow: rows older than kLogRetentionDays, beyond kLogMaxRows.
    R"sql(
CREATE TABLE mail_log (
    id        INTEGER PRIMARY KEY,
    time      INTEGER NOT NULL,
    direction TEXT NOT NULL,
    status    TEXT NOT NULL,
    sender    TEXT NOT NULL DEFAULT '',
    recipient TEXT NOT NULL DEFAULT '',
    mailbox   TEXT NOT NULL DEFAULT '',
    subject   TEXT NOT NULL DEFAULT '',
    detail    TEXT NOT NULL DEFAULT '',
    client    TEXT NOT NULL DEFAULT '',
    size      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mail_log_time ON mail_log(time);
CREATE TABLE traffic_hours (
    hour     INTEGER PRIMARY KEY,  -- start of the hour, unix seconds
    received INTEGER NOT NULL DEFAULT 0,
    sent     INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0
);
-- The queued message's Subject:, for the log lines of its delivery attempts and the queue listing.
ALTER TABLE queue ADD COLUMN subject TEXT NOT NULL DEFAULT '';
)sql",
};

constexpr int kVersion = static_cast<int>(sizeof kMigrations / sizeof kMigrations[0]);

int current_version(Db& db) {
    auto s = db.prepare("PRAGMA user_version");
    s->step();
    return static_cast<int>(s->int64(0));
}

}  // namespace

int schema_version() { return kVersion; }

void migrate(Db& db) {
    if (current_version(db) >= kVersion) return;
    db.exec("BEGIN IMMEDIATE");
    try {
        int v = current_version(db);
        if (v > kVersion) throw DbError(SQLITE_ERROR, "database schema is newer than this Roost build");
        for (; v < kVersion; ++v) {
            db.exec(kMigrations[v]);
            db.exec(("PRAGMA user_version = " + std::to_string(v + 1)).c_str());
        }
        db.exec("COMMIT");
    } catch (...) {
        sqlite3_exec(db.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

}  // namespace roost::store::sqlite
