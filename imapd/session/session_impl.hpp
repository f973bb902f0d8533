// Private to imapd/session: the Session class, split over session.cpp (loop, states, authentication,
// untagged updates), mailbox_commands.cpp and message_commands.cpp (one handler per command).
//
// Invariants a contributor must keep:
// - Never write to the client while a store write is pending; store callbacks only resume this coroutine.
// - EXPUNGE (or VANISHED) responses are only sent where RFC 9051 §7.5.1 allows: not while a FETCH, STORE
//   or SEARCH by sequence number is in progress; they are queued until the next allowed point.
// - The sequence-number map (`view_`) changes only when the client is told (EXISTS / EXPUNGE / VANISHED).
// - STARTTLS starts a new phase: the reader's buffered input is discarded with the connection's.
#pragma once

// GCC 12 reports a false -Wmismatched-new-delete at the end of some coroutines whose frames use Asio's
// class-specific operator new/delete (GCC bug 109224, fixed in GCC 13). This private header is included
// only by the session's own .cpp files, so the suppression covers exactly them.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/auth/sasl.hpp"
#include "common/mail/message.hpp"
#include "imapd/protocol/command.hpp"
#include "imapd/protocol/parser.hpp"
#include "imapd/session/session.hpp"

namespace roost::imapd {

enum class State { NotAuthenticated, Authenticated, Selected, Logout };

// The selected mailbox as this session has told the client about it.
struct SelectedMailbox {
    store::Mailbox info;
    bool read_only = false;
    std::vector<std::uint32_t> uids;  // index = sequence number - 1
    std::set<std::uint32_t> recent;   // \Recent for this session (RFC 3501 §2.3.2)
    std::uint64_t known_modseq = 0;   // changes up to here have been reported (or are pending below)
    std::set<std::uint32_t> pending_expunge;  // expunged in the store, not yet reported
    std::uint32_t pending_exists = 0;         // new messages not yet reported (their UIDs follow uids)
    std::vector<std::uint32_t> pending_uids;
    std::map<std::uint32_t, std::uint64_t> reported;  // uid -> modseq already sent in a FETCH
    std::optional<std::vector<std::uint32_t>> saved_search;  // RFC 5182 "$" (UIDs)

    std::uint32_t exists() const { return static_cast<std::uint32_t>(uids.size()); }
    std::uint32_t seq_of(std::uint32_t uid) const;  // 0 if absent
    std::uint32_t max_uid() const { return uids.empty() ? 0 : uids.back(); }
    std::uint32_t recent_count() const;  // \Recent messages the client has been told exist
};

class Session {
public:
    Session(net::Connection& c, const SessionContext& ctx);
    ~Session();
    net::awaitable<void> run();

private:
    using Cmd = imap::Command;

    // ----- output -----
    void untagged(std::string_view text);
    void tagged(const std::string& tag, std::string_view status, std::string_view text);
    void ok(const std::string& tag, std::string_view text) { tagged(tag, "OK", text); }
    void no(const std::string& tag, std::string_view text) { tagged(tag, "NO", text); }
    void bad(const std::string& tag, std::string_view text);
    void raw(std::string_view text) { out_ += text; }
    net::awaitable<bool> flush();
    net::awaitable<bool> flush_if_large();

    // ----- state -----
    std::string capabilities() const;
    bool utf8() const { return utf8_enabled_ || rev2_; }
    bool login_allowed() const;
    bool allowed_in_state(const Cmd& cmd) const;
    void select_none();

    // ----- dispatch -----
    net::awaitable<void> dispatch(Cmd& cmd);
    net::awaitable<void> on_starttls(const imap::StartTls&);
    net::awaitable<void> on_login(const imap::Login&);
    net::awaitable<void> on_authenticate(const imap::Authenticate&);
    net::awaitable<void> finish_login(const std::string& tag, const auth::Credentials& creds);
    void on_enable(const imap::Enable&);
    void on_id(const imap::Id&);
    void on_namespace(const imap::Namespace&);

    // mailbox_commands.cpp
    net::awaitable<void> on_select(const imap::SelectArgs&, bool read_only, const std::string& name);
    void on_create(const imap::Create&);
    void on_delete(const imap::Delete&);
    void on_rename(const imap::Rename&);
    void on_subscribe(const std::string& tag, const std::string& mailbox, bool on);
    void on_list(const imap::List&);
    void on_lsub(const imap::Lsub&);
    void on_status(const imap::Status&);
    std::string status_items(const store::Mailbox& mb, const std::vector<imap::StatusItem>& items);
    void on_getquota(const imap::GetQuota&);
    void on_getquotaroot(const imap::GetQuotaRoot&);
    std::string quota_line() const;
    net::awaitable<void> on_append(imap::Append&);

    // message_commands.cpp
    net::awaitable<void> on_fetch(const imap::Fetch&);
    net::awaitable<void> on_store(const imap::Store&);
    net::awaitable<void> on_search(const imap::Search&);
    net::awaitable<void> on_sort(const imap::Sort&);
    net::awaitable<void> on_thread(const imap::Thread&);
    net::awaitable<void> on_copy(const std::string& tag, bool uid, const imap::SequenceSet& set,
                                 const std::string& mailbox, bool move);
    net::awaitable<void> on_expunge(const std::string& tag, const std::optional<imap::SequenceSet>& uid_set);
    net::awaitable<void> on_close(const std::string& tag, bool expunge);
    net::awaitable<void> on_idle(const imap::Idle&);

    // ----- selected-mailbox helpers -----
    // UIDs (ascending) for a set given by sequence numbers or UIDs (`$` = saved search).
    std::vector<std::uint32_t> resolve(const imap::SequenceSet& set, bool uid) const;
    // False if a message sequence number in `set` is above the number of messages (RFC 9051 §9: seq-number
    // must exist). UID sets and "$" are always valid.
    bool valid_sequence_set(const imap::SequenceSet& set, bool uid) const;
    // Fetches what changed in the selected mailbox and reports it (EXPUNGE only if allowed).
    net::awaitable<void> report_updates(bool allow_expunge);
    void emit_expunges(const std::vector<std::uint32_t>& uids);
    std::optional<mail::ParsedMessage> parsed_of(std::int64_t blob_id);
    struct SearchResult {
        std::vector<std::uint32_t> seqs, uids;
        std::uint64_t max_modseq = 0;
    };
    net::awaitable<std::optional<SearchResult>> run_search(const std::string& tag, const imap::SearchKeyPtr& key);
    std::string flags_of(const store::MessageInfo& m) const;
    std::string fetch_flags_item(const store::MessageInfo& m, bool with_uid) const;

    // Awaits an asynchronous store call.
    template <class T, class Start>
    net::awaitable<store::Result<T>> await_store(Start start);

    net::Connection& conn_;
    const SessionContext& ctx_;
    const Config& cfg_;
    imap::CommandReader reader_;
    std::string out_;
    State state_ = State::NotAuthenticated;
    store::Account account_;
    std::optional<SelectedMailbox> sel_;
    bool condstore_ = false, qresync_ = false, rev2_ = false, utf8_enabled_ = false;
    unsigned errors_ = 0;
    std::unique_ptr<store::Subscription> subscription_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    bool change_pending_ = false;  // a store notification arrived for the selected mailbox
    bool idling_ = false, pushing_ = false;
    std::string idle_tag_;
    // A command line read while waiting between commands (see run()); fed to reader_ before any more
    // bytes of the connection.
    std::string idle_line_;
    std::size_t idle_line_pos_ = 0;
};

template <class T, class Start>
net::awaitable<store::Result<T>> Session::await_store(Start start) {
    std::optional<store::Result<T>> result;
    co_await conn_.suspend_until([&](std::function<void()> resume) {
        start([&result, resume = std::move(resume)](store::Result<T> r) {
            result.emplace(std::move(r));
            resume();
        });
    });
    co_return std::move(*result);
}

// Maps flag names to stored bits/keywords; false on a flag that may not be stored (\Recent, unknown \X).
bool parse_flags(const std::vector<std::string>& flags, std::uint32_t& bits, std::vector<std::string>& keywords);
// RFC 3501 §6.3.8 LIST pattern matching with '*' and '%' and '/' as delimiter.
bool list_match(std::string_view pattern, std::string_view name);

}  // namespace roost::imapd
