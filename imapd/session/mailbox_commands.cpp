// IMAP mailbox commands: SELECT/EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE/UNSUBSCRIBE, LIST (RFC 5258,
// RFC 5819, RFC 6154), LSUB, STATUS (RFC 8438 SIZE), GETQUOTA/GETQUOTAROOT (RFC 9208), APPEND (RFC 4315
// APPENDUID, RFC 7889 APPENDLIMIT).
#include <algorithm>
#include <cstring>

#include "common/core/log.hpp"
#include "imapd/protocol/strings.hpp"
#include "imapd/session/session_impl.hpp"

namespace roost::imapd {
namespace {

std::string no_for(const store::Error& e) {
    switch (e.code) {
        case store::Errc::NotFound: return "[NONEXISTENT] " + e.message;
        case store::Errc::AlreadyExists: return "[ALREADYEXISTS] " + e.message;
        case store::Errc::OverQuota: return "[OVERQUOTA] Quota exceeded";
        case store::Errc::Invalid: return "[CANNOT] " + e.message;
        case store::Errc::Temporary: return "[UNAVAILABLE] Temporary failure, try again";
        case store::Errc::StorageFull: return "[UNAVAILABLE] Server storage is full, try again later";
        default:
            log::error() << "imap: store error: " << e.message;
            return "[SERVERBUG] Internal error";
    }
}

bool is_inbox(std::string_view n) { return n.size() == 5 && strncasecmp(n.data(), "INBOX", 5) == 0; }

}  // namespace

net::awaitable<void> Session::on_select(const imap::SelectArgs& c, bool read_only, const std::string& verb) {
    if (sel_) {
        select_none();
        if (qresync_ || rev2_) untagged("OK [CLOSED] Previous mailbox closed");  // RFC 7162 §3.2.11
    }
    auto mb = ctx_.store.find_mailbox(account_.id, c.mailbox);
    if (!mb) { no(c.tag, no_for(mb.error())); co_return; }
    auto msgs = ctx_.store.list_messages(mb->id);
    if (!msgs) { no(c.tag, no_for(msgs.error())); co_return; }
    SelectedMailbox s;
    s.info = *mb;
    s.read_only = read_only;
    for (auto& m : *msgs) s.uids.push_back(m.uid);
    // The mailbox row was read before the list: anything that changed in between is reported again as an
    // update rather than missed.
    s.known_modseq = mb->highest_modseq;
    if (!rev2_) {
        if (!read_only) {
            // RFC 3501 §2.3.2: this session is the first to be told of them, so they are recent here only.
            if (auto r = ctx_.store.claim_recent(mb->id))
                for (auto uid : *r) s.recent.insert(uid);
        } else {
            // RFC 3501 §6.3.2: EXAMINE must not make messages lose \Recent, but shows it.
            for (auto& m : *msgs)
                if (m.recent) s.recent.insert(m.uid);
        }
    }
    if (c.condstore || c.qresync) condstore_ = true;  // RFC 7162 §3.1.8
    sel_ = std::move(s);
    state_ = State::Selected;

    std::uint32_t first_unseen = 0;
    std::vector<std::string> keywords;
    for (std::size_t i = 0; i < msgs->size(); ++i) {
        auto& m = (*msgs)[i];
        if (!first_unseen && !(m.flags & store::kFlagSeen)) first_unseen = static_cast<std::uint32_t>(i + 1);
        for (auto& k : m.keywords)
            if (std::find(keywords.begin(), keywords.end(), k) == keywords.end() && keywords.size() < 256)
                keywords.push_back(k);
    }
    std::string kw;
    for (auto& k : keywords) kw += " " + k;
    // RFC 9051 §6.3.2 / RFC 3501 §6.3.1 responses.
    untagged("FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft" + kw + ")");
    untagged("OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft" + kw + (read_only ? "" : " \\*") +
             ")] Flags permitted");
    untagged(std::to_string(sel_->exists()) + " EXISTS");
    if (!rev2_) {
        untagged(std::to_string(sel_->recent_count()) + " RECENT");
        if (first_unseen) untagged("OK [UNSEEN " + std::to_string(first_unseen) + "] First unseen");
    }
    untagged("OK [UIDVALIDITY " + std::to_string(sel_->info.uidvalidity) + "] UIDs valid");
    untagged("OK [UIDNEXT " + std::to_string(sel_->info.uidnext) + "] Predicted next UID");
    untagged("OK [HIGHESTMODSEQ " + std::to_string(sel_->known_modseq) + "] Highest");  // RFC 7162 §3.1.2.1
    if (rev2_) untagged("LIST () \"/\" " + imap::mailbox_astring(sel_->info.name, utf8()));

    if (c.qresync && qresync_ && c.qresync->uid_validity == sel_->info.uidvalidity) {
        // RFC 7162 §3.2.5.1: what the client missed since its modseq.
        auto delta = ctx_.store.changes_since(sel_->info.id, c.qresync->modseq);
        if (delta) {
            std::vector<std::uint32_t> vanished;
            for (auto uid : delta->expunged)
                if (!c.qresync->known_uids || c.qresync->known_uids->contains(uid, sel_->max_uid())) vanished.push_back(uid);
            if (!vanished.empty()) untagged("VANISHED (EARLIER) " + imap::format_sequence_set(vanished));
            for (auto& m : delta->changed) {
                auto seq = sel_->seq_of(m.uid);
                if (seq) untagged(std::to_string(seq) + " FETCH (" + fetch_flags_item(m, true) + ")");
            }
        }
    }
    ok(c.tag, std::string(read_only ? "[READ-ONLY] " : "[READ-WRITE] ") + verb + " completed");
}

void Session::on_create(const imap::Create& c) {
    std::string name = c.mailbox;
    while (!name.empty() && name.back() == '/') name.pop_back();  // RFC 9051 §6.3.4: trailing delimiter
    if (is_inbox(name)) return no(c.tag, "[ALREADYEXISTS] INBOX always exists");
    std::string use;
    if (c.special_use.size() > 1) return no(c.tag, "[USEATTR] Only one special-use attribute per mailbox");
    if (!c.special_use.empty()) use = c.special_use[0];
    auto r = ctx_.store.create_mailbox(account_.id, name, use);
    if (!r) {
        if (r.error().code == store::Errc::Invalid && !use.empty())
            return no(c.tag, "[USEATTR] Unsupported special-use attribute");  // RFC 6154 §3
        return no(c.tag, no_for(r.error()));
    }
    ok(c.tag, "CREATE completed");
}

void Session::on_delete(const imap::Delete& c) {
    if (sel_ && sel_->info.name == c.mailbox) select_none();
    auto r = ctx_.store.delete_mailbox(account_.id, c.mailbox);
    if (!r) return no(c.tag, no_for(r.error()));
    ok(c.tag, "DELETE completed");
}

void Session::on_rename(const imap::Rename& c) {
    auto r = ctx_.store.rename_mailbox(account_.id, c.from, c.to);
    if (!r) return no(c.tag, no_for(r.error()));
    ok(c.tag, "RENAME completed");
}

void Session::on_subscribe(const std::string& tag, const std::string& mailbox, bool on) {
    auto r = ctx_.store.set_subscribed(account_.id, mailbox, on);
    if (!r && !(r.error().code == store::Errc::NotFound && !on)) return no(tag, no_for(r.error()));
    ok(tag, on ? "SUBSCRIBE completed" : "UNSUBSCRIBE completed");
}

std::string Session::status_items(const store::Mailbox& mb, const std::vector<imap::StatusItem>& items) {
    std::string s;
    std::optional<std::vector<store::MessageInfo>> msgs;
    auto need_msgs = [&] {
        if (!msgs) {
            auto r = ctx_.store.list_messages(mb.id);
            msgs = r ? std::move(r).value() : std::vector<store::MessageInfo>{};
        }
        return &*msgs;
    };
    for (auto item : items) {
        if (!s.empty()) s += ' ';
        switch (item) {
            case imap::StatusItem::Messages: s += "MESSAGES " + std::to_string(mb.messages); break;
            case imap::StatusItem::UidNext: s += "UIDNEXT " + std::to_string(mb.uidnext); break;
            case imap::StatusItem::UidValidity: s += "UIDVALIDITY " + std::to_string(mb.uidvalidity); break;
            case imap::StatusItem::Unseen: s += "UNSEEN " + std::to_string(mb.unseen); break;
            case imap::StatusItem::Size: s += "SIZE " + std::to_string(mb.size); break;
            case imap::StatusItem::HighestModSeq: s += "HIGHESTMODSEQ " + std::to_string(mb.highest_modseq); break;
            case imap::StatusItem::AppendLimit: s += "APPENDLIMIT " + std::to_string(cfg_.limits.max_message_size); break;
            case imap::StatusItem::Deleted: {
                std::size_t n = 0;
                for (auto& m : *need_msgs()) n += (m.flags & store::kFlagDeleted) ? 1 : 0;
                s += "DELETED " + std::to_string(n);
                break;
            }
            case imap::StatusItem::Recent: {
                std::size_t n = 0;
                for (auto& m : *need_msgs()) n += m.recent ? 1 : 0;
                s += "RECENT " + std::to_string(n);
                break;
            }
        }
    }
    return s;
}

void Session::on_status(const imap::Status& c) {
    // RFC 9051 §6.3.11: the selected mailbox may be asked for too.
    auto mb = ctx_.store.find_mailbox(account_.id, c.mailbox);
    if (!mb) return no(c.tag, no_for(mb.error()));
    untagged("STATUS " + imap::mailbox_astring(mb->name, utf8()) + " (" + status_items(*mb, c.items) + ")");
    ok(c.tag, "STATUS completed");
}

void Session::on_list(const imap::List& c) {
    // RFC 9051 §6.3.9 / RFC 5258: LIST "" "" asks for the delimiter.
    if (c.patterns.size() == 1 && c.patterns[0].empty() && !c.extended) {
        untagged("LIST (\\Noselect) \"/\" \"\"");
        return ok(c.tag, "LIST completed");
    }
    auto all = ctx_.store.list_mailboxes(account_.id);
    if (!all) return no(c.tag, no_for(all.error()));
    bool want_subscribed = c.select.subscribed || c.returns.subscribed;
    for (auto& mb : *all) {
        bool matched = false;
        for (auto& p : c.patterns) {
            std::string pattern = c.reference + p;
            if (pattern.size() >= 5 && strncasecmp(pattern.c_str(), "INBOX", 5) == 0 &&
                (pattern.size() == 5 || pattern[5] == '/'))
                pattern.replace(0, 5, "INBOX");
            if (list_match(pattern, mb.name)) matched = true;
        }
        if (!matched) continue;
        if (c.select.subscribed && !mb.subscribed) continue;
        if (c.select.special_use && mb.special_use.empty()) continue;
        bool children = false;
        for (auto& other : *all)
            if (other.name.size() > mb.name.size() && other.name.compare(0, mb.name.size(), mb.name) == 0 &&
                other.name[mb.name.size()] == '/')
                children = true;
        std::string attrs = children ? "\\HasChildren" : "\\HasNoChildren";
        if (!mb.special_use.empty()) attrs += " " + mb.special_use;  // RFC 6154
        if (want_subscribed && mb.subscribed) attrs += " \\Subscribed";
        untagged("LIST (" + attrs + ") \"/\" " + imap::mailbox_astring(mb.name, utf8()));
        if (!c.returns.status.empty())  // RFC 5819
            untagged("STATUS " + imap::mailbox_astring(mb.name, utf8()) + " (" + status_items(mb, c.returns.status) + ")");
    }
    ok(c.tag, "LIST completed");
}

void Session::on_lsub(const imap::Lsub& c) {
    auto all = ctx_.store.list_mailboxes(account_.id);
    if (!all) return no(c.tag, no_for(all.error()));
    std::string pattern = c.reference + c.pattern;
    if (is_inbox(pattern)) pattern = "INBOX";
    for (auto& mb : *all)
        if (mb.subscribed && list_match(pattern, mb.name))
            untagged("LSUB () \"/\" " + imap::mailbox_astring(mb.name, utf8()));
    ok(c.tag, "LSUB completed");
}

std::string Session::quota_line() const {
    auto used = ctx_.store.account_usage(account_.id);
    auto acc = ctx_.store.find_account_by_id(account_.id);
    std::uint64_t u = used ? *used : 0, limit = acc ? acc->quota_bytes : 0;
    // RFC 9208 §5.1: STORAGE in units of 1024 octets.
    return "QUOTA \"\" (STORAGE " + std::to_string((u + 1023) / 1024) + " " + std::to_string(limit / 1024) + ")";
}

void Session::on_getquota(const imap::GetQuota& c) {
    auto acc = ctx_.store.find_account_by_id(account_.id);
    if (!c.root.empty() || !acc || acc->quota_bytes == 0) return no(c.tag, "[NONEXISTENT] No such quota root");
    untagged(quota_line());
    ok(c.tag, "GETQUOTA completed");
}

void Session::on_getquotaroot(const imap::GetQuotaRoot& c) {
    auto mb = ctx_.store.find_mailbox(account_.id, c.mailbox);
    if (!mb) return no(c.tag, no_for(mb.error()));
    auto acc = ctx_.store.find_account_by_id(account_.id);
    bool has = acc && acc->quota_bytes > 0;
    untagged("QUOTAROOT " + imap::mailbox_astring(mb->name, utf8()) + (has ? " \"\"" : ""));
    if (has) untagged(quota_line());
    ok(c.tag, "GETQUOTAROOT completed");
}

net::awaitable<void> Session::on_append(imap::Append& c) {
    auto mb = ctx_.store.find_mailbox(account_.id, c.mailbox);
    if (!mb) { no(c.tag, mb.error().code == store::Errc::NotFound ? "[TRYCREATE] No such mailbox" : no_for(mb.error())); co_return; }
    if (c.message.size() > cfg_.limits.max_message_size) { no(c.tag, "[TOOBIG] Message too large"); co_return; }
    store::AppendRequest req;
    if (!parse_flags(c.flags, req.flags, req.keywords)) { bad(c.tag, "Invalid flag in APPEND"); co_return; }
    req.account_id = account_.id;
    req.mailbox_id = mb->id;
    // Stored messages use CRLF line ends (POP3 sizes and IMAP RFC822.SIZE count them): normalise bare LF.
    req.raw.reserve(c.message.size() + c.message.size() / 40);
    for (std::size_t i = 0; i < c.message.size(); ++i) {
        char ch = c.message[i];
        if (ch == '\n' && (i == 0 || c.message[i - 1] != '\r')) req.raw += '\r';
        req.raw += ch;
    }
    if (c.internal_date) req.internal_date = c.internal_date->unix_seconds;
    auto r = co_await await_store<store::AppendResult>(
        [&](auto cb) { ctx_.store.append(std::move(req), std::move(cb)); });
    if (!r) { no(c.tag, no_for(r.error())); co_return; }
    // RFC 9051 §6.3.12: appending to the selected mailbox is reported (EXISTS) before the tagged OK.
    if (sel_) co_await report_updates(true);
    // RFC 4315 §3
    ok(c.tag, "[APPENDUID " + std::to_string(r->uidvalidity) + " " + std::to_string(r->uid) + "] APPEND completed");
}

}  // namespace roost::imapd
