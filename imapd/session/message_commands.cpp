// IMAP message commands: FETCH (RFC 9051 §6.4.5, RFC 7162 CHANGEDSINCE/VANISHED), STORE (UNCHANGEDSINCE),
// SEARCH (ESEARCH RFC 4731, SEARCHRES RFC 5182), SORT/THREAD (RFC 5256), COPY/MOVE (RFC 4315 COPYUID,
// RFC 6851), EXPUNGE / UID EXPUNGE, CLOSE / UNSELECT, IDLE (RFC 2177).
#include <algorithm>
#include <map>

#include "common/core/log.hpp"
#include "common/mail/serialize.hpp"
#include "imapd/protocol/render.hpp"
#include "imapd/protocol/search.hpp"
#include "imapd/protocol/strings.hpp"
#include "imapd/protocol/thread.hpp"
#include "imapd/session/session_impl.hpp"

namespace roost::imapd {
namespace {

std::string no_text(const store::Error& e) {
    switch (e.code) {
        case store::Errc::OverQuota: return "[OVERQUOTA] Quota exceeded";
        case store::Errc::NotFound: return "[NONEXISTENT] " + e.message;
        case store::Errc::Temporary: return "[UNAVAILABLE] Temporary failure, try again";
        case store::Errc::StorageFull: return "[UNAVAILABLE] Server storage is full, try again later";
        default:
            log::error() << "imap: store error: " << e.message;
            return "[SERVERBUG] Internal error";
    }
}

}  // namespace

net::awaitable<void> Session::on_fetch(const imap::Fetch& c) {
    using K = imap::FetchItem::Kind;
    // Non-UID FETCH may not be interleaved with EXPUNGE (RFC 9051 §7.5.1); UID FETCH may.
    co_await report_updates(c.uid);
    if (!valid_sequence_set(c.set, c.uid)) {
        bad(c.tag, "Invalid message sequence number");
        co_return;
    }
    auto uids = resolve(c.set, c.uid);
    bool need_parsed = false, sets_seen = false;
    for (auto& item : c.items) {
        // BODY[] / BINARY[] of the whole message need no parse: they are the stored bytes.
        bool whole = item.section.part.empty() && item.section.text == imap::Section::Text::None;
        if (item.kind == K::Envelope || item.kind == K::BodyStructure || item.kind == K::Body ||
            item.kind == K::Rfc822Header || item.kind == K::Rfc822Text ||
            ((item.kind == K::BodySection || item.kind == K::Binary || item.kind == K::BinarySize) && !whole))
            need_parsed = true;
        if (((item.kind == K::BodySection || item.kind == K::Binary) && !item.peek) || item.kind == K::Rfc822 ||
            item.kind == K::Rfc822Text)
            sets_seen = true;
    }
    bool want_modseq = c.changed_since.has_value() ||
                       std::any_of(c.items.begin(), c.items.end(), [](auto& i) { return i.kind == K::ModSeq; });
    if (want_modseq) condstore_ = true;  // RFC 7162 §3.1: a CONDSTORE-enabling command

    if (c.vanished && c.changed_since && c.uid && qresync_) {
        // RFC 7162 §3.2.6: VANISHED (EARLIER) for expunged UIDs of the set since the given modseq.
        auto delta = ctx_.store.changes_since(sel_->info.id, *c.changed_since);
        if (delta) {
            std::vector<std::uint32_t> v;
            for (auto uid : delta->expunged)
                if (c.set.contains(uid, sel_->info.uidnext ? sel_->info.uidnext - 1 : 0)) v.push_back(uid);
            if (!v.empty()) untagged("VANISHED (EARLIER) " + imap::format_sequence_set(v));
        }
    }

    if (uids.empty()) { ok(c.tag, c.uid ? "UID FETCH completed" : "FETCH completed"); co_return; }
    auto list = ctx_.store.list_messages(sel_->info.id, uids.front(), uids.back());  // uids are sorted
    if (!list) { no(c.tag, no_text(list.error())); co_return; }
    std::map<std::uint32_t, store::MessageInfo*> by_uid;
    for (auto& m : *list) by_uid[m.uid] = &m;

    // \Seen is set by BODY[...] and RFC822(.TEXT) in a read-write mailbox (RFC 9051 §6.4.5).
    std::set<std::uint32_t> seen_changed;
    if (sets_seen && !sel_->read_only) {
        store::FlagUpdate up;
        for (auto uid : uids)
            if (auto it = by_uid.find(uid); it != by_uid.end() && !(it->second->flags & store::kFlagSeen))
                up.uids.push_back(uid);
        if (!up.uids.empty()) {
            up.op = store::FlagOp::Add;
            up.flags = store::kFlagSeen;
            auto r = co_await await_store<store::FlagResult>(
                [&](auto cb) { ctx_.store.store_flags(sel_->info.id, std::move(up), std::move(cb)); });
            if (r)
                for (auto& m : r->updated) {
                    if (auto it = by_uid.find(m.uid); it != by_uid.end()) *it->second = m;
                    seen_changed.insert(m.uid);
                    sel_->reported[m.uid] = m.modseq;
                }
        }
    }

    bool any_flags = std::any_of(c.items.begin(), c.items.end(), [](auto& i) { return i.kind == K::Flags; });
    std::vector<store::MessageInfo*> selected;
    selected.reserve(uids.size());
    for (auto uid : uids) {
        auto it = by_uid.find(uid);
        if (it == by_uid.end()) continue;  // expunged by another session; reported later
        if (c.changed_since && it->second->modseq <= *c.changed_since) continue;
        selected.push_back(it->second);
    }
    // The stored parses are read a chunk of messages at a time (one query, one read transaction), not
    // one query per message.
    constexpr std::size_t kChunk = 256;
    std::vector<std::string> chunk_parsed;
    for (std::size_t index = 0; index < selected.size(); ++index) {
        if (need_parsed && index % kChunk == 0) {
            std::vector<std::int64_t> ids;
            for (std::size_t j = index; j < std::min(selected.size(), index + kChunk); ++j) ids.push_back(selected[j]->blob_id);
            auto r = ctx_.store.parsed_structures(ids);
            chunk_parsed = r ? std::move(r).value() : std::vector<std::string>(ids.size());
        }
        auto& m = *selected[index];
        const auto uid = m.uid;
        auto seq = sel_->seq_of(uid);
        std::string items;
        auto add = [&](const std::string& s) {
            if (!items.empty()) items += ' ';
            items += s;
        };
        // NAME SP literal, appended in place: a large body is copied once into the response, not re-concatenated.
        auto add_literal = [&](const std::string& name, std::string_view bytes, bool literal8 = false) {
            if (!items.empty()) items += ' ';
            items += name;
            items += literal8 ? " ~{" : " {";
            items += std::to_string(bytes.size());
            items += "}\r\n";
            items += bytes;
        };
        std::optional<mail::ParsedMessage> parsed;
        std::optional<std::string> raw;
        auto get_parsed = [&]() -> const mail::ParsedMessage* {
            if (!parsed) {
                std::string_view stored = chunk_parsed.empty() ? std::string_view() : chunk_parsed[index % kChunk];
                if (!stored.empty()) parsed = mail::from_blob(stored);
                if (!parsed) parsed = parsed_of(m.blob_id);  // stored without a parse: parse now
            }
            return parsed ? &*parsed : nullptr;
        };
        auto get_raw = [&]() -> const std::string& {
            if (!raw) {
                auto r = ctx_.store.blob(m.blob_id);
                raw = r ? std::move(r).value() : std::string();
            }
            return *raw;
        };
        // Bytes of the stored message: small messages are read whole once (one cached statement), large
        // ones by range (incremental blob I/O) so a part of a 50 MiB message does not read 50 MiB.
        constexpr std::uint64_t kReadWhole = 256 * 1024;
        auto bytes_at = [&](std::uint64_t offset, std::uint64_t length) -> std::string {
            if (length == 0) return {};
            if (raw || m.size <= kReadWhole) {
                const std::string& all = get_raw();
                return offset < all.size() ? all.substr(offset, length) : std::string();
            }
            auto b = ctx_.store.blob_range(m.blob_id, offset, length);
            return b ? std::move(b).value() : std::string();
        };
        if (c.uid) add("UID " + std::to_string(uid));  // RFC 9051 §6.4.9: UID FETCH always returns UID
        for (auto& item : c.items) {
            switch (item.kind) {
                case K::Flags: add("FLAGS " + flags_of(m)); break;
                case K::Uid:
                    if (!c.uid) add("UID " + std::to_string(uid));
                    break;
                case K::InternalDate: add("INTERNALDATE \"" + imap::imap_date_time(m.internal_date) + "\""); break;
                case K::Rfc822Size: add("RFC822.SIZE " + std::to_string(m.size)); break;
                case K::ModSeq: break;  // added once below
                case K::Envelope:
                    if (auto* p = get_parsed()) add("ENVELOPE " + imap::render_envelope(p->envelope, utf8()));
                    break;
                case K::BodyStructure:
                    if (auto* p = get_parsed()) add("BODYSTRUCTURE " + imap::render_body_structure(p->root, true, utf8()));
                    break;
                case K::Body:
                    if (auto* p = get_parsed()) add("BODY " + imap::render_body_structure(p->root, false, utf8()));
                    break;
                case K::Rfc822: add_literal("RFC822", get_raw()); break;
                case K::Rfc822Header:
                case K::Rfc822Text:
                case K::BodySection: {
                    imap::Section section = item.section;
                    if (item.kind == K::Rfc822Header) section.text = imap::Section::Text::Header;
                    if (item.kind == K::Rfc822Text) section.text = imap::Section::Text::Text;
                    if (item.kind == K::BodySection && section.part.empty() && section.text == imap::Section::Text::None) {
                        // BODY[]<partial>: the stored bytes, no parse needed.
                        std::string name = imap::render_fetch_section_name(section, item.partial);
                        if (!item.partial) {
                            add_literal(name, get_raw());
                        } else {
                            auto off = std::min<std::uint64_t>(item.partial->offset, m.size);
                            add_literal(name, bytes_at(off, std::min<std::uint64_t>(item.partial->length, m.size - off)));
                        }
                        break;
                    }
                    const auto* p = get_parsed();
                    std::string name = item.kind == K::Rfc822Header ? "RFC822.HEADER"
                                       : item.kind == K::Rfc822Text ? "RFC822.TEXT"
                                                                    : imap::render_fetch_section_name(section, item.partial);
                    if (!p) {
                        add(name + " NIL");
                        break;
                    }
                    std::string header_block;
                    if (auto hr = imap::header_block_range(*p, section)) header_block = bytes_at(hr->offset, hr->length);
                    auto data = imap::resolve_section(*p, section, header_block);
                    if (!data) {
                        add(name + " NIL");
                        break;
                    }
                    auto d = item.partial ? imap::apply_partial(*data, *item.partial) : *data;
                    std::string bytes;
                    if (d.use_synthesized) bytes = d.synthesized;
                    else if (d.ranges.size() == 1) bytes = bytes_at(d.ranges[0].offset, d.ranges[0].length);
                    else bytes = d.materialize(get_raw());
                    add_literal(name, bytes);
                    break;
                }
                case K::Binary:
                case K::BinarySize: {
                    // RFC 9051 §6.4.5: the part's body with its Content-Transfer-Encoding undone.
                    const bool size_only = item.kind == K::BinarySize;
                    std::string name = imap::render_binary_name(item.section.part, item.partial, size_only);
                    std::optional<imap::BinarySource> src;
                    if (item.section.part.empty()) {
                        src.emplace();  // the whole message, as stored
                        src->range = {0, m.size};
                    } else if (const auto* p = get_parsed()) {
                        src = imap::binary_source(*p, item.section.part);
                    }
                    std::string decoded;
                    if (src) {
                        auto d = imap::decode_binary(*src, bytes_at(src->range.offset, src->range.length));
                        if (!d) {
                            no(c.tag, "[UNKNOWN-CTE] Cannot decode the Content-Transfer-Encoding of part " +
                                          name.substr(name.find('[')));
                            co_return;
                        }
                        decoded = std::move(*d);
                    }
                    if (size_only) {
                        add(name + " " + std::to_string(decoded.size()));
                        break;
                    }
                    if (item.partial) decoded = item.partial->offset < decoded.size()
                                                    ? decoded.substr(item.partial->offset, item.partial->length)
                                                    : std::string();
                    // RFC 9051 §4.3: only literal8 may carry NUL; other content goes in an ordinary literal.
                    add_literal(name, decoded, decoded.find('\0') != std::string::npos);
                    break;
                }
            }
        }
        if (seen_changed.count(uid) && !any_flags) add("FLAGS " + flags_of(m));  // implicit \Seen change
        if (condstore_ && (want_modseq || seen_changed.count(uid))) add("MODSEQ (" + std::to_string(m.modseq) + ")");
        Session::raw("* " + std::to_string(seq) + " FETCH (");
        Session::raw(items);
        Session::raw(")\r\n");
        { bool awaited = co_await flush_if_large(); if (!awaited) co_return; }
    }
    ok(c.tag, c.uid ? "UID FETCH completed" : "FETCH completed");
}

net::awaitable<void> Session::on_store(const imap::Store& c) {
    if (sel_->read_only) { no(c.tag, "[READ-ONLY] Mailbox is read-only"); co_return; }
    co_await report_updates(c.uid);
    if (!valid_sequence_set(c.set, c.uid)) {
        bad(c.tag, "Invalid message sequence number");
        co_return;
    }
    store::FlagUpdate up;
    if (!parse_flags(c.flags, up.flags, up.keywords)) { bad(c.tag, "Invalid flag"); co_return; }
    up.uids = resolve(c.set, c.uid);
    up.op = c.op == imap::StoreOp::Add ? store::FlagOp::Add
            : c.op == imap::StoreOp::Remove ? store::FlagOp::Remove
                                            : store::FlagOp::Replace;
    up.unchanged_since = c.unchanged_since;
    if (c.unchanged_since) condstore_ = true;
    auto requested = up.uids;
    auto r = co_await await_store<store::FlagResult>(
        [&](auto cb) { ctx_.store.store_flags(sel_->info.id, std::move(up), std::move(cb)); });
    if (!r) { no(c.tag, no_text(r.error())); co_return; }
    for (auto& m : r->updated) {
        auto seq = sel_->seq_of(m.uid);
        if (!seq) continue;
        sel_->reported[m.uid] = m.modseq;
        // RFC 7162 §3.1.3: with CONDSTORE, .SILENT still reports MODSEQ of changed messages.
        if (!c.silent) untagged(std::to_string(seq) + " FETCH (" + fetch_flags_item(m, c.uid) + ")");
        else if (condstore_)
            untagged(std::to_string(seq) + " FETCH (" + (c.uid ? "UID " + std::to_string(m.uid) + " " : std::string()) +
                     "MODSEQ (" + std::to_string(m.modseq) + "))");
    }
    if (!r->modified.empty()) {
        std::vector<std::uint32_t> mod;
        for (auto uid : r->modified) mod.push_back(c.uid ? uid : sel_->seq_of(uid));
        std::sort(mod.begin(), mod.end());
        { ok(c.tag, "[MODIFIED " + imap::format_sequence_set(mod) + "] Conditional STORE failed"); co_return; }
    }
    ok(c.tag, c.uid ? "UID STORE completed" : "STORE completed");
}

net::awaitable<std::optional<Session::SearchResult>> Session::run_search(const std::string& tag,
                                                                           const imap::SearchKeyPtr& key) {
    SearchResult res;
    if (!key) co_return res;
    auto list = ctx_.store.list_messages(sel_->info.id);
    if (!list) {
        no(tag, no_text(list.error()));
        co_return std::nullopt;
    }
    // BODY/TEXT keys are answered from the full-text index built at delivery.
    imap::TextMatches text;
    for (auto* k : imap::text_keys(*key)) {
        store::SearchTextQuery q{sel_->info.id, k->text, k->kind == imap::SearchKey::Kind::Text};
        auto r = ctx_.store.search_text(q);
        text[k] = r ? std::move(r).value() : std::vector<std::uint32_t>{};
    }
    bool parsed_needed = imap::needs_parsed(*key);
    imap::SearchContext ctx;
    ctx.max_seq = sel_->exists();
    ctx.max_uid = sel_->max_uid();
    ctx.text_matches = &text;
    ctx.saved_uids = sel_->saved_search ? &*sel_->saved_search : nullptr;
    for (auto& m : *list) {
        auto seq = sel_->seq_of(m.uid);
        if (!seq) continue;  // not yet announced to the client
        std::optional<mail::ParsedMessage> parsed;
        if (parsed_needed) parsed = parsed_of(m.blob_id);
        imap::SearchMessage sm;
        sm.seq = seq;
        sm.uid = m.uid;
        sm.flags = m.flags;
        sm.recent = sel_->recent.count(m.uid) > 0;
        sm.keywords = &m.keywords;
        sm.internal_date = m.internal_date;
        sm.size = m.size;
        sm.modseq = m.modseq;
        sm.parsed = parsed ? &*parsed : nullptr;
        if (imap::matches(*key, sm, ctx)) {
            res.seqs.push_back(seq);
            res.uids.push_back(m.uid);
            res.max_modseq = std::max(res.max_modseq, m.modseq);
        }
    }
    co_return res;
}

namespace {
bool uses_modseq(const imap::SearchKey& k) {
    if (k.kind == imap::SearchKey::Kind::ModSeq) return true;
    for (auto& c : k.children)
        if (c && uses_modseq(*c)) return true;
    return false;
}
}  // namespace

net::awaitable<void> Session::on_search(const imap::Search& c) {
    co_await report_updates(c.uid);
    auto res = co_await run_search(c.tag, c.key);
    if (!res) co_return;
    bool modseq = c.key && uses_modseq(*c.key);
    if (modseq) condstore_ = true;
    auto& nums = c.uid ? res->uids : res->seqs;
    if (c.returns.save) {
        // RFC 5182 §2.1: with MIN and/or MAX but neither ALL nor COUNT, only those are saved.
        const auto& r = c.returns;
        if ((r.min || r.max) && !r.all && !r.count && !res->uids.empty()) {
            std::vector<std::uint32_t> v;
            if (r.min) v.push_back(res->uids.front());
            if (r.max && (!r.min || res->uids.size() > 1)) v.push_back(res->uids.back());
            sel_->saved_search = std::move(v);
        } else {
            sel_->saved_search = res->uids;
        }
    }
    if (c.return_given || rev2_) {
        // RFC 4731 ESEARCH; RFC 9051 answers every SEARCH this way.
        std::string s = "ESEARCH (TAG " + imap::quoted_or_literal(c.tag, false) + ")";
        if (c.uid) s += " UID";
        auto r = c.returns;
        bool none = !r.min && !r.max && !r.count && !r.all && !r.save;
        if (none) r.all = true;  // "RETURN ()" means ALL
        // RFC 5182 §2.1: SAVE alone gives no ESEARCH response.
        bool save_only = r.save && !r.min && !r.max && !r.count && !r.all && c.return_given;
        if (!save_only) {
            if (r.min && !nums.empty()) s += " MIN " + std::to_string(nums.front());
            if (r.max && !nums.empty()) s += " MAX " + std::to_string(nums.back());
            if (r.all && !nums.empty()) s += " ALL " + imap::format_sequence_set(nums);
            if (r.count) s += " COUNT " + std::to_string(nums.size());
            if (modseq && !nums.empty()) s += " MODSEQ " + std::to_string(res->max_modseq);
            untagged(s);
        }
    } else {
        std::string s = "SEARCH";
        for (auto n : nums) s += " " + std::to_string(n);
        if (modseq && !nums.empty()) s += " (MODSEQ " + std::to_string(res->max_modseq) + ")";  // RFC 7162 §3.1.5
        untagged(s);
    }
    ok(c.tag, c.uid ? "UID SEARCH completed" : "SEARCH completed");
}

namespace {
// The messages a search matched, in its order, with their stored parse: SORT and THREAD need headers.
struct Materialized {
    std::vector<store::MessageInfo> infos;
    std::vector<mail::ParsedMessage> parsed;
    std::vector<imap::SearchMessage> msgs;
};

template <class ParsedOf>
store::Result<Materialized> materialize(store::MailStore& store, std::int64_t mailbox,
                                        const std::vector<std::uint32_t>& uids, const std::vector<std::uint32_t>& seqs,
                                        ParsedOf parsed_of) {
    auto list = uids.empty() ? store.list_messages(mailbox, 1, 0)
                             : store.list_messages(mailbox, *std::min_element(uids.begin(), uids.end()),
                                                   *std::max_element(uids.begin(), uids.end()));
    if (!list) return list.error();
    std::map<std::uint32_t, const store::MessageInfo*> by_uid;
    for (auto& m : *list) by_uid[m.uid] = &m;
    Materialized out;
    std::vector<std::uint32_t> found_seqs;
    for (std::size_t i = 0; i < uids.size(); ++i) {
        auto it = by_uid.find(uids[i]);
        if (it == by_uid.end()) continue;
        out.infos.push_back(*it->second);
        found_seqs.push_back(seqs[i]);
    }
    out.parsed.reserve(out.infos.size());
    for (auto& m : out.infos) {
        auto p = parsed_of(m.blob_id);
        out.parsed.push_back(p ? std::move(*p) : mail::ParsedMessage{});
    }
    for (std::size_t i = 0; i < out.infos.size(); ++i) {
        auto& m = out.infos[i];
        imap::SearchMessage sm;
        sm.seq = found_seqs[i];
        sm.uid = m.uid;
        sm.flags = m.flags;
        sm.keywords = &m.keywords;
        sm.internal_date = m.internal_date;
        sm.size = m.size;
        sm.modseq = m.modseq;
        sm.parsed = &out.parsed[i];
        out.msgs.push_back(sm);
    }
    return out;
}
}  // namespace

net::awaitable<void> Session::on_sort(const imap::Sort& c) {
    co_await report_updates(c.uid);
    auto res = co_await run_search(c.tag, c.key);
    if (!res) co_return;
    auto mat = materialize(ctx_.store, sel_->info.id, res->uids, res->seqs, [this](std::int64_t b) { return parsed_of(b); });
    if (!mat) { no(c.tag, no_text(mat.error())); co_return; }
    std::vector<imap::SortCriterion> crit(c.criteria.begin(), c.criteria.end());
    auto order = imap::sort_messages(crit, mat->msgs, c.uid);
    std::string s = "SORT";
    for (auto n : order) s += " " + std::to_string(n);
    untagged(s);
    ok(c.tag, c.uid ? "UID SORT completed" : "SORT completed");
}

net::awaitable<void> Session::on_thread(const imap::Thread& c) {
    co_await report_updates(c.uid);
    auto res = co_await run_search(c.tag, c.key);
    if (!res) co_return;
    auto mat = materialize(ctx_.store, sel_->info.id, res->uids, res->seqs, [this](std::int64_t b) { return parsed_of(b); });
    if (!mat) { no(c.tag, no_text(mat.error())); co_return; }
    untagged("THREAD " + imap::thread_response(c.algorithm, mat->msgs, c.uid));
    ok(c.tag, c.uid ? "UID THREAD completed" : "THREAD completed");
}

net::awaitable<void> Session::on_copy(const std::string& tag, bool uid, const imap::SequenceSet& set,
                                      const std::string& mailbox, bool move) {
    if (move && sel_->read_only) { no(tag, "[READ-ONLY] Mailbox is read-only"); co_return; }
    co_await report_updates(uid);
    auto dest = ctx_.store.find_mailbox(account_.id, mailbox);
    if (!dest) { no(tag, dest.error().code == store::Errc::NotFound ? "[TRYCREATE] No such mailbox" : no_text(dest.error())); co_return; }
    if (!valid_sequence_set(set, uid)) {
        bad(tag, "Invalid message sequence number");
        co_return;
    }
    auto uids = resolve(set, uid);
    if (uids.empty()) {
        ok(tag, move ? "MOVE completed" : "COPY completed");
        co_return;
    }
    auto r = co_await await_store<store::CopyResult>(
        [&](auto cb) { ctx_.store.copy(sel_->info.id, uids, dest->id, move, std::move(cb)); });
    if (!r) { no(tag, no_text(r.error())); co_return; }
    std::string code;
    if (!r->dest_uids.empty())
        code = "[COPYUID " + std::to_string(r->uidvalidity) + " " + imap::format_sequence_set(r->source_uids) + " " +
               imap::format_sequence_set(r->dest_uids) + "] ";
    if (!move) {
        // RFC 9051 §6.4.7: a copy into the selected mailbox is announced (EXISTS) before the tagged OK.
        if (dest->id == sel_->info.id) co_await report_updates(uid);
        ok(tag, code + "COPY completed");
        co_return;
    }
    // RFC 6851 §4.3: COPYUID in an untagged OK, then the expunges, then the tagged OK.
    if (!code.empty()) untagged("OK " + code + "Moved");
    std::vector<std::uint32_t> moved = r->source_uids;
    for (auto u : moved) sel_->pending_expunge.erase(u);
    emit_expunges(moved);
    ok(tag, "MOVE completed");
}

net::awaitable<void> Session::on_expunge(const std::string& tag, const std::optional<imap::SequenceSet>& uid_set) {
    if (sel_->read_only) { no(tag, "[READ-ONLY] Mailbox is read-only"); co_return; }
    auto list = ctx_.store.list_messages(sel_->info.id);
    if (!list) { no(tag, no_text(list.error())); co_return; }
    std::vector<std::uint32_t> doomed;
    auto allowed = uid_set ? resolve(*uid_set, true) : std::vector<std::uint32_t>{};
    for (auto& m : *list) {
        if (!(m.flags & store::kFlagDeleted) || !sel_->seq_of(m.uid)) continue;
        if (uid_set && !std::binary_search(allowed.begin(), allowed.end(), m.uid)) continue;
        doomed.push_back(m.uid);
    }
    if (!doomed.empty()) {
        auto r = co_await await_store<std::vector<std::uint32_t>>(
            [&](auto cb) { ctx_.store.expunge(sel_->info.id, doomed, std::move(cb)); });
        if (!r) { no(tag, no_text(r.error())); co_return; }
    }
    co_await report_updates(true);
    ok(tag, uid_set ? "UID EXPUNGE completed" : "EXPUNGE completed");
}

net::awaitable<void> Session::on_close(const std::string& tag, bool expunge) {
    if (expunge && !sel_->read_only) {
        // RFC 9051 §6.4.1: CLOSE expunges silently.
        auto list = ctx_.store.list_messages(sel_->info.id);
        if (list) {
            std::vector<std::uint32_t> doomed;
            for (auto& m : *list)
                if (m.flags & store::kFlagDeleted) doomed.push_back(m.uid);
            if (!doomed.empty())
                (void)co_await await_store<std::vector<std::uint32_t>>(
                    [&](auto cb) { ctx_.store.expunge(sel_->info.id, doomed, std::move(cb)); });
        }
    }
    select_none();
    ok(tag, expunge ? "CLOSE completed" : "UNSELECT completed");
}

net::awaitable<void> Session::on_idle(const imap::Idle& c) {
    // RFC 2177: report what is pending, then push updates as they happen until DONE.
    if (sel_) co_await report_updates(true);
    raw("+ idling\r\n");
    { bool awaited = co_await flush(); if (!awaited) { state_ = State::Logout; co_return; } }
    idling_ = true;
    if (change_pending_ && sel_) {
        co_await report_updates(true);
        { bool awaited = co_await flush(); if (!awaited) { state_ = State::Logout; co_return; } }
    }
    std::string line;
    auto st = co_await conn_.read_line(line, 1024, true);
    idling_ = false;
    while (pushing_) co_await conn_.sleep(std::chrono::milliseconds(1));  // let an in-flight push finish
    if (st == net::ReadStatus::Timeout) {
        untagged("BYE Autologout; idle for too long");
        state_ = State::Logout;
        co_return;
    }
    if (st == net::ReadStatus::Shutdown) {
        untagged("BYE [UNAVAILABLE] Server shutting down");
        state_ = State::Logout;
        co_return;
    }
    if (st != net::ReadStatus::Ok) { state_ = State::Logout; co_return; }
    if (!imap::is_done_line(line)) { bad(c.tag, "Expected DONE"); co_return; }
    if (sel_) co_await report_updates(true);
    ok(c.tag, "IDLE terminated");
}

}  // namespace roost::imapd
