// MailStore — the one interface every daemon and the CLI use to reach mail data. No SQL exists outside
// storage/; a second backend (PostgreSQL) can be added behind this interface without touching protocol code.
//
// Threading: every method may be called from any thread. Reads run on the caller's thread (short, WAL
// readers never block writers). Writes go through one writer per process that batches concurrent requests
// into one transaction and one fsync (group commit); the async forms call their callback on the writer
// thread after the commit is durable, the sync forms wait for it.
//
// Lock discipline (ARCHITECTURE.md): commit first, then publish the change, then the caller writes to its
// client. Callbacks must not block: post the result to the session's executor and return.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/result.hpp"

namespace roost::store {

struct Domain {
    std::int64_t id = 0;
    std::string name;
    std::int64_t created = 0;  // unix seconds
};

struct Account {
    std::int64_t id = 0;
    std::int64_t domain_id = 0;
    std::string address;  // lower-case local@domain
    std::string password_hash;
    std::uint64_t quota_bytes = 0;  // 0 = unlimited
    std::uint64_t used_bytes = 0;
    bool enabled = true;
    std::int64_t created = 0;
};

struct AliasEntry {
    std::string source;  // local@domain, or @domain for a catch-all
    std::vector<std::string> targets;
};

struct Mailbox {
    std::int64_t id = 0;
    std::int64_t account_id = 0;
    std::string name;         // UTF-8, hierarchy delimiter '/'
    std::string special_use;  // "\\Sent" etc. (RFC 6154), empty if none
    bool subscribed = false;
    std::uint32_t uidvalidity = 0;
    std::uint32_t uidnext = 1;
    std::uint64_t highest_modseq = 1;
    std::uint32_t messages = 0;
    std::uint32_t unseen = 0;
    std::uint64_t size = 0;
};

// Where RCPT TO points, after aliases, catch-alls and plus-addressing.
struct Recipient {
    enum class Kind {
        Local,            // deliver to account_ids
        UnknownUser,      // local domain, nobody there: 550 5.1.1
        Disabled,         // account disabled: 550 5.2.1
        OverQuota,        // at least one target is full: 452 4.2.2
        NotLocal,         // not one of our domains: relay decision belongs to the caller
    };
    Kind kind = Kind::NotLocal;
    std::vector<std::int64_t> account_ids;
    std::vector<std::string> remote_targets;  // alias targets outside our domains (forwarding)
};

// IMAP system flags (RFC 9051 §2.3.2) as stored; \Recent is not a stored flag (see claim_recent).
enum SystemFlag : std::uint32_t {
    kFlagSeen = 1u << 0,
    kFlagAnswered = 1u << 1,
    kFlagFlagged = 1u << 2,
    kFlagDeleted = 1u << 3,
    kFlagDraft = 1u << 4,
};

struct MessageInfo {
    std::int64_t id = 0;  // store-wide message id
    std::uint32_t uid = 0;
    std::uint64_t modseq = 0;
    std::uint32_t flags = 0;            // SystemFlag bits
    std::vector<std::string> keywords;  // user flags, as given (case preserved)
    std::int64_t internal_date = 0;     // unix seconds
    std::uint64_t size = 0;             // octets (RFC822.SIZE; POP3 LIST/STAT)
    std::int64_t blob_id = 0;
    bool recent = false;  // not yet claimed by any session (claim_recent)
};

// What changed in a mailbox after a given modseq (RFC 7162): messages added or whose flags changed, and
// UIDs expunged. `mailbox` is the state after those changes.
struct MailboxDelta {
    Mailbox mailbox;
    std::vector<MessageInfo> changed;     // ordered by UID
    std::vector<std::uint32_t> expunged;  // ordered
};

enum class FlagOp { Add, Remove, Replace };

struct FlagUpdate {
    std::vector<std::uint32_t> uids;
    FlagOp op = FlagOp::Add;
    std::uint32_t flags = 0;
    std::vector<std::string> keywords;
    std::optional<std::uint64_t> unchanged_since;  // RFC 7162 §3.1.3 UNCHANGEDSINCE
};

struct FlagResult {
    std::vector<MessageInfo> updated;     // messages whose flags/modseq changed (new values)
    std::vector<std::uint32_t> modified;  // UNCHANGEDSINCE failures (RFC 7162 MODIFIED response code)
    std::uint64_t highest_modseq = 0;
};

struct AppendRequest {
    std::int64_t account_id = 0;
    std::int64_t mailbox_id = 0;
    std::string raw;
    std::uint32_t flags = 0;
    std::vector<std::string> keywords;
    std::int64_t internal_date = 0;  // 0 = now
};

struct AppendResult {
    std::uint32_t uidvalidity = 0;
    std::uint32_t uid = 0;  // RFC 4315 APPENDUID
};

struct CopyResult {
    std::uint32_t uidvalidity = 0;  // of the destination (RFC 4315 COPYUID)
    std::vector<std::uint32_t> source_uids;
    std::vector<std::uint32_t> dest_uids;
};

struct SearchTextQuery {
    std::int64_t mailbox_id = 0;
    std::string text;   // one SEARCH BODY/TEXT string
    bool headers_too = false;  // TEXT (header + body) vs BODY
};

// An exclusive lock (POP3 maildrop, RFC 1939 §4). Released when destroyed or when the process dies.
class Lock {
public:
    virtual ~Lock() = default;
};

struct QueueRecipient {
    std::string address;
    std::string orcpt;       // RFC 3461 ORCPT, "rfc822;..." or empty
    unsigned notify = 0;     // RFC 3461 NOTIFY bits (protocol-defined, stored as-is)
};

// A recipient as read back from the queue, with its delivery state.
struct QueuedRecipient {
    std::string address;
    std::string orcpt;
    unsigned notify = 0;
    std::int64_t id = 0;
    std::string status;      // "pending", "deferred", "delivered", "failed"
    std::string last_reply;  // the last SMTP reply or error for this recipient
    std::string remote_mta;  // the host that gave it
};

struct DeliveryRequest {
    std::string raw;                        // the message as stored: trace headers + data, CRLF line ends
    std::vector<std::int64_t> accounts;     // local recipients (deduplicated by the store)
    std::int64_t internal_date = 0;         // unix seconds; 0 = now
    // Outbound part (RFC 5321 §3.6 relaying for authenticated senders); empty = nothing to queue.
    std::string envelope_from;
    std::vector<QueueRecipient> remote;
    std::string dsn_envid;
    std::string dsn_ret;  // "FULL", "HDRS" or empty
};

struct DeliveryResult {
    std::vector<std::int64_t> message_ids;  // one per distinct local account
    std::int64_t queue_id = 0;              // 0 if nothing was queued
};

struct QueueEntry {
    std::int64_t id = 0;
    std::string sender;
    std::vector<QueuedRecipient> recipients;
    std::uint64_t size = 0;
    std::int64_t created = 0;
    std::int64_t next_attempt = 0;
    std::uint32_t attempts = 0;
    std::string last_error;
    std::string envid;            // RFC 3461 ENVID
    std::string ret;              // "FULL", "HDRS" or empty
    std::int64_t blob_id = 0;
    std::int64_t lease_until = 0; // a delivery attempt holds the entry until then (0: free)
    bool delay_notified = false;  // a delay DSN was already sent
    std::string subject;          // the message's Subject: (RFC 2047-decoded), for listings
};

// What one delivery attempt of a queue entry found, recorded in one transaction (smtpd/outbound).
struct RecipientOutcome {
    enum class Status { Delivered, Failed, Deferred };
    std::int64_t recipient_id = 0;
    Status status = Status::Deferred;
    std::string reply;       // SMTP reply or error text
    std::string remote_mta;  // host name (or address) that answered
};

struct AttemptOutcome {
    std::int64_t queue_id = 0;
    std::vector<RecipientOutcome> recipients;  // recipients not listed keep their state
    std::int64_t next_attempt = 0;              // when deferred recipients are tried again
    std::string last_error;
    bool delay_notified = false;                // set the entry's delay_notified flag
    // Delivery status notifications produced by this attempt (bounce, delay notice): delivered or queued in
    // the same transaction, so a crash can neither lose nor duplicate them.
    std::vector<DeliveryRequest> notices;
};

// A DKIM signing key (RFC 6376 §3.6.1); the private key never leaves the store except to sign.
struct DkimKey {
    std::string domain;     // lower-case signing domain (d=)
    std::string selector;   // s=
    std::string algorithm;  // "rsa-sha256" or "ed25519-sha256"
    std::string private_key_pem;
    std::int64_t created = 0;
};

struct FailureRecord {
    std::uint32_t failures = 0;
    std::int64_t last_failure = 0;  // unix seconds
};

// A change to one mailbox, delivered to subscribers in every process within milliseconds of the commit.
struct MailboxChange {
    std::int64_t account_id = 0;
    std::int64_t mailbox_id = 0;
    std::uint64_t modseq = 0;
};

// Dropping the subscription object unsubscribes.
class Subscription {
public:
    virtual ~Subscription() = default;
};

// ----- roost-admin (admin-ui/) -----
// An administrator of the web panel and API (separate from mail accounts: an admin need not have a mailbox).
struct AdminAccount {
    std::int64_t id = 0;
    std::string address;
    std::string password_hash;
    std::int64_t created = 0;
};

// A panel login. `id_digest` is the SHA-256 (hex) of the cookie value; the cookie itself is never stored.
struct WebSession {
    std::string id_digest;
    std::string subject;  // admin or mail-account address
    bool is_admin = false;
    std::string csrf;     // per-session anti-CSRF token, echoed by the page in X-CSRF-Token
    std::int64_t created = 0;
    std::int64_t expires = 0;
};

// A bearer token for scripts; only its SHA-256 digest is stored.
struct ApiToken {
    std::int64_t id = 0;
    std::string name;
    std::string token_digest;
    std::string admin;  // who created it; the token acts with that admin's rights
    std::int64_t created = 0;
    std::int64_t last_used = 0;
};

// One line of the delivery log (table mail_log, written by the store as mail moves): a message stored in a
// mailbox, a remote recipient queued and each delivery attempt's outcome, and every SMTP transaction step
// roost-smtpd refused. Kept for kLogRetentionDays and at most kLogMaxRows rows.
struct DeliveryLogEntry {
    std::int64_t id = 0;
    std::int64_t time = 0;
    std::string direction;  // "local" (stored in a mailbox), "outbound" (for a remote host) or "inbound"
                            // (an SMTP client's attempt that was refused)
    std::string sender;     // the envelope sender (empty for a bounce)
    std::string recipient;
    std::string mailbox;    // local only
    std::string subject;    // RFC 2047-decoded Subject:, when the message was read
    std::string status;     // "delivered", "queued", "deferred", "failed" or "rejected"
    std::string detail;     // the SMTP reply (outbound: the remote host's; rejected: ours)
    std::string client;     // rejected: the client's IP address
    std::uint64_t size = 0;
};

// An SMTP transaction step roost-smtpd refused with a 4xx/5xx reply (RFC 5321 §4.2.1): MAIL, RCPT or the
// message data. Recorded by record_rejection() for the delivery log and the dashboard's counts.
struct Rejection {
    std::int64_t time = 0;  // unix seconds; 0 = now
    std::string client;     // peer IP address
    std::string sender;     // MAIL FROM, when given
    std::string recipient;  // RCPT TO, for a refused recipient
    std::string subject;    // when the data was read
    std::string reply;      // the reply sent, e.g. "550 5.1.1 No such user here"
    std::uint64_t size = 0; // data octets read (or the SIZE= declared), 0 if none
};

struct DeliveryLogQuery {
    std::size_t limit = 100;
    std::string text;    // case-insensitive substring of the sender, recipient or subject; empty = any
    std::string status;  // one DeliveryLogEntry::status; empty = any
};

// Messages per hour: received = accepted by roost-smtpd (one per message, whatever its recipient count),
// sent = remote recipients delivered, rejected = refused transaction steps (RCPT, MAIL, data).
struct TrafficHour {
    std::int64_t hour = 0;  // start of the hour, unix seconds
    std::uint64_t received = 0, sent = 0, rejected = 0;
};

inline constexpr int kLogRetentionDays = 30;
inline constexpr std::size_t kLogMaxRows = 200000;

struct StoreStats {
    std::uint64_t domains = 0, accounts = 0, aliases = 0, messages = 0, queue = 0;
    std::uint64_t message_bytes = 0;  // sum of stored message sizes (each stored message once)
    std::uint64_t database_bytes = 0; // roost.db and its WAL on disk
};

template <class T>
using Callback = std::function<void(Result<T>)>;

class MailStore {
public:
    virtual ~MailStore() = default;

    // Domains
    virtual Result<Domain> add_domain(std::string_view name) = 0;
    virtual Result<std::vector<Domain>> list_domains() = 0;
    virtual Result<Domain> find_domain(std::string_view name) = 0;
    virtual Status remove_domain(std::string_view name) = 0;  // refused while accounts or aliases use it

    // Accounts. New accounts get INBOX, Drafts, Sent, Trash, Junk, Archive (RFC 6154 attributes).
    virtual Result<Account> add_account(std::string_view address, std::string_view password_hash,
                                        std::uint64_t quota_bytes) = 0;
    virtual Result<std::vector<Account>> list_accounts(std::string_view domain = {}) = 0;
    virtual Result<Account> find_account(std::string_view address) = 0;
    virtual Result<Account> find_account_by_id(std::int64_t id) = 0;
    virtual Status set_password(std::string_view address, std::string_view password_hash) = 0;
    virtual Status set_enabled(std::string_view address, bool enabled) = 0;
    virtual Status set_quota(std::string_view address, std::uint64_t quota_bytes) = 0;
    virtual Status remove_account(std::string_view address) = 0;  // deletes its mailboxes and messages

    // Aliases. A source "@domain" is that domain's catch-all. Targets may be local or remote addresses.
    virtual Status add_alias(std::string_view source, const std::vector<std::string>& targets) = 0;
    virtual Result<std::vector<AliasEntry>> list_aliases(std::string_view domain = {}) = 0;
    virtual Status remove_alias(std::string_view source, std::string_view target = {}) = 0;
    virtual Result<std::vector<std::string>> alias_targets(std::string_view source) = 0;

    // Mailboxes
    virtual Result<std::vector<Mailbox>> list_mailboxes(std::int64_t account_id) = 0;
    virtual Result<Mailbox> find_mailbox(std::int64_t account_id, std::string_view name) = 0;

    // Delivery: stores `raw` once, adds it to every account's INBOX, queues remote recipients, all in one
    // transaction that is durable on disk before `done` is called (group commit).
    virtual void deliver(DeliveryRequest request, Callback<DeliveryResult> done) = 0;
    Result<DeliveryResult> deliver_sync(DeliveryRequest request);

    // Raw bytes of a stored message (by message id).
    virtual Result<std::string> message_bytes(std::int64_t message_id) = 0;

    // ----- mailbox management (IMAP CREATE/DELETE/RENAME/SUBSCRIBE) -----
    // Names are UTF-8 with '/' as hierarchy delimiter; "INBOX" is case-insensitive (RFC 9051 §5.1).
    virtual Result<Mailbox> create_mailbox(std::int64_t account_id, std::string_view name,
                                           std::string_view special_use = {}) = 0;
    // Deletes the mailbox and its messages (children stay; RFC 9051 §6.3.9). INBOX cannot be deleted.
    virtual Status delete_mailbox(std::int64_t account_id, std::string_view name) = 0;
    // Renames the mailbox and its inferiors. Renaming INBOX moves its messages to a new mailbox and leaves
    // INBOX empty (RFC 9051 §6.3.10).
    virtual Status rename_mailbox(std::int64_t account_id, std::string_view from, std::string_view to) = 0;
    virtual Status set_subscribed(std::int64_t account_id, std::string_view name, bool subscribed) = 0;

    // ----- messages -----
    // The messages with uid_first <= UID <= uid_last, in UID order (FETCH 5 reads one row, not the mailbox).
    virtual Result<std::vector<MessageInfo>> list_messages(std::int64_t mailbox_id, std::uint32_t uid_first,
                                                           std::uint32_t uid_last) = 0;
    Result<std::vector<MessageInfo>> list_messages(std::int64_t mailbox_id) {
        return list_messages(mailbox_id, 1, std::numeric_limits<std::uint32_t>::max());
    }
    virtual Result<MailboxDelta> changes_since(std::int64_t mailbox_id, std::uint64_t modseq) = 0;
    // UIDs of messages that became \Recent for the caller: atomically cleared so that exactly one session
    // sees each message as recent (RFC 3501 §2.3.2).
    virtual Result<std::vector<std::uint32_t>> claim_recent(std::int64_t mailbox_id) = 0;
    virtual Result<std::string> blob(std::int64_t blob_id) = 0;
    // A byte range of a stored message without reading the rest (incremental blob I/O).
    virtual Result<std::string> blob_range(std::int64_t blob_id, std::uint64_t offset, std::uint64_t length) = 0;
    // The parse stored at delivery (common/mail/serialize.hpp format); empty if none was stored.
    virtual Result<std::string> parsed_structure(std::int64_t blob_id) = 0;
    // The same for many blobs in one read (FETCH of many messages); aligned with blob_ids.
    virtual Result<std::vector<std::string>> parsed_structures(const std::vector<std::int64_t>& blob_ids) = 0;
    // UIDs in the mailbox whose indexed text matches (full-text index built at delivery).
    virtual Result<std::vector<std::uint32_t>> search_text(const SearchTextQuery& query) = 0;
    // Sum of message sizes per account, for quota reporting.
    virtual Result<std::uint64_t> account_usage(std::int64_t account_id) = 0;

    virtual void store_flags(std::int64_t mailbox_id, FlagUpdate update, Callback<FlagResult> done) = 0;
    // Removes the given UIDs (those that exist); returns the UIDs removed, ordered.
    virtual void expunge(std::int64_t mailbox_id, std::vector<std::uint32_t> uids,
                         Callback<std::vector<std::uint32_t>> done) = 0;
    virtual void append(AppendRequest request, Callback<AppendResult> done) = 0;
    // Copies (or moves, RFC 6851) messages; the destination must belong to the same account. Quota checked.
    virtual void copy(std::int64_t source_mailbox, std::vector<std::uint32_t> uids, std::int64_t dest_mailbox,
                      bool move, Callback<CopyResult> done) = 0;

    // Exclusive maildrop lock for POP3 (RFC 1939 §8): InUse if another session holds it, in any process.
    virtual Result<std::unique_ptr<Lock>> lock_maildrop(std::int64_t account_id) = 0;

    // Outbound queue
    virtual Result<std::vector<QueueEntry>> list_queue() = 0;
    // One entry with every recipient and its state.
    virtual Result<QueueEntry> queue_entry(std::int64_t id) = 0;
    // The queued message bytes.
    virtual Result<std::string> queue_message(std::int64_t id) = 0;
    // Claims up to `limit` entries that are due (next_attempt <= now) and not leased, leasing them to `owner`
    // until now + lease: a process that dies mid-delivery leaves a lease that expires, and the entry is
    // tried again. Returned entries carry only their unfinished (pending/deferred) recipients.
    virtual Result<std::vector<QueueEntry>> claim_queue(std::int64_t now, std::chrono::seconds lease,
                                                        std::size_t limit, std::string_view owner) = 0;
    // Records an attempt and releases the lease; an entry with no unfinished recipient left is removed.
    virtual void complete_attempt(AttemptOutcome outcome, Callback<Ok> done) = 0;
    // Earliest time something in the queue becomes due (unleased: next_attempt, leased: lease_until);
    // nullopt for an empty queue.
    virtual Result<std::optional<std::int64_t>> next_queue_due() = 0;
    // Makes one entry (id > 0) or every entry (id 0) due now; NotFound for an unknown id.
    virtual Status retry_queue(std::int64_t id) = 0;
    // Removes an entry without any notification to the sender.
    virtual Status delete_queue(std::int64_t id) = 0;
    // Frees the leases whose owner starts with `owner_prefix` (this host's earlier process after a crash).
    virtual Result<std::size_t> release_queue_leases(std::string_view owner_prefix) = 0;
    // `fn` runs (on the notifier thread) whenever an entry is queued or made due, in any process.
    virtual std::unique_ptr<Subscription> subscribe_queue(std::function<void()> fn) = 0;

    // DKIM keys (RFC 6376). AlreadyExists for a taken (domain, selector).
    virtual Status add_dkim_key(const DkimKey& key) = 0;
    // Keys of one domain (every key when empty), oldest first.
    virtual Result<std::vector<DkimKey>> dkim_keys(std::string_view domain = {}) = 0;
    virtual Status remove_dkim_key(std::string_view domain, std::string_view selector) = 0;

    // Failed-login records shared by every daemon (keys like "ip:192.0.2.1", "user:a@b").
    virtual Result<FailureRecord> auth_failures(std::string_view key) = 0;
    // Failures older than `window` are forgotten before this one is counted.
    virtual Status record_auth_failure(std::string_view key, std::chrono::seconds window) = 0;
    virtual Status clear_auth_failures(std::string_view key) = 0;

    // ----- roost-admin -----
    virtual Result<AdminAccount> add_admin(std::string_view address, std::string_view password_hash) = 0;
    virtual Result<AdminAccount> find_admin(std::string_view address) = 0;
    virtual Result<std::vector<AdminAccount>> list_admins() = 0;
    virtual Status set_admin_password(std::string_view address, std::string_view password_hash) = 0;
    // Removes the admin with its panel sessions and API tokens; NotFound if unknown.
    virtual Status remove_admin(std::string_view address) = 0;
    // Sessions: expired ones are removed by add_web_session; find_web_session ignores them.
    virtual Status add_web_session(const WebSession& session) = 0;
    virtual Result<WebSession> find_web_session(std::string_view id_digest, std::int64_t now) = 0;
    virtual Status remove_web_session(std::string_view id_digest) = 0;
    // Ends every session of `subject` (after a password change), except `keep` (digest; may be empty).
    virtual Status remove_web_sessions_of(std::string_view subject, std::string_view keep) = 0;
    virtual Result<ApiToken> add_api_token(std::string_view name, std::string_view token_digest,
                                           std::string_view admin) = 0;
    virtual Result<std::vector<ApiToken>> list_api_tokens() = 0;
    // Finds a token by digest and records its use.
    virtual Result<ApiToken> use_api_token(std::string_view token_digest, std::int64_t now) = 0;
    virtual Status remove_api_token(std::int64_t id) = 0;
    // The delivery log, newest first.
    virtual Result<std::vector<DeliveryLogEntry>> recent_deliveries(const DeliveryLogQuery& query) = 0;
    // Records a refused SMTP transaction step. Never blocks and never fails the caller: entries are buffered
    // and written by the group-commit writer in one job per commit (at most 10000 waiting; beyond that only
    // the hourly count is kept). Readers see them after that commit, within milliseconds.
    virtual void record_rejection(Rejection rejection) = 0;
    // Hourly counts from the hour holding `since` on, oldest first; hours with nothing are left out.
    virtual Result<std::vector<TrafficHour>> traffic(std::int64_t since) = 0;
    virtual Result<StoreStats> stats() = 0;

    template <class T, class Fn>
    Result<T> wait(Fn start);  // runs an async method and waits for its callback (CLI, tests)

    // Change notification. `fn` runs on the store's notifier thread: it must only hand the event off.
    virtual std::unique_ptr<Subscription> subscribe(std::int64_t account_id,
                                                    std::function<void(const MailboxChange&)> fn) = 0;
};

template <class T, class Fn>
Result<T> MailStore::wait(Fn start) {
    std::promise<Result<T>> p;
    auto f = p.get_future();
    start([&p](Result<T> r) { p.set_value(std::move(r)); });
    return f.get();
}

struct StoreOptions {
    std::string path;  // database file
    std::string run_dir;  // change-notification files; empty: next to the database
    std::chrono::milliseconds busy_timeout{10000};
    bool notifications = true;  // start the notifier thread (daemons); the CLI only publishes
};

std::unique_ptr<MailStore> open_sqlite_store(const StoreOptions& options);

}  // namespace roost::store
