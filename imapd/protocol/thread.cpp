// RFC 5256 (SORT, THREAD=ORDEREDSUBJECT, THREAD=REFERENCES), RFC 5957 (DISPLAYFROM, DISPLAYTO).
#include "imapd/protocol/thread.hpp"

#include <algorithm>
#include <numeric>
#include <optional>
#include <unordered_map>

#include "common/mail/address.hpp"
#include "common/mail/header.hpp"

namespace roost::imap {
namespace {

// --- base subject (RFC 5256 §2.1, ABNF in §5) ------------------------------------------------------

bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && mail::iequals(s.substr(0, prefix.size()), prefix);
}

// subj-blob = "[" *BLOBCHAR "]" *WSP at `pos`; returns the end, or npos.
size_t match_blob(std::string_view s, size_t pos) {
    if (pos >= s.size() || s[pos] != '[') return std::string_view::npos;
    size_t i = pos + 1;
    while (i < s.size() && s[i] != '[' && s[i] != ']') ++i;
    if (i >= s.size() || s[i] != ']') return std::string_view::npos;
    ++i;
    while (i < s.size() && s[i] == ' ') ++i;
    return i;
}

// subj-leader = (*subj-blob subj-refwd) / WSP, at the start; returns its length (0: none) and
// whether it was a subj-refwd.
size_t match_leader(std::string_view s, bool& refwd) {
    refwd = false;
    if (s.empty()) return 0;
    if (s[0] == ' ') return 1;
    size_t i = 0;
    for (size_t e; (e = match_blob(s, i)) != std::string_view::npos;) i = e;
    // subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
    std::string_view rest = s.substr(i);
    size_t n = 0;
    if (istarts_with(rest, "re")) n = 2;
    else if (istarts_with(rest, "fwd")) n = 3;
    else if (istarts_with(rest, "fw")) n = 2;
    else return 0;
    i += n;
    while (i < s.size() && s[i] == ' ') ++i;
    if (size_t e = match_blob(s, i); e != std::string_view::npos) i = e;
    if (i >= s.size() || s[i] != ':') return 0;
    refwd = true;
    return i + 1;
}

// --- per-message keys ------------------------------------------------------------------------------

std::string casemap(std::string_view s) { return mail::to_upper(s); }  // i;ascii-casemap

const mail::Address* first_address(const std::vector<mail::Address>& list) {
    for (const auto& a : list)
        if (!a.group_start && !a.group_end) return &a;
    return nullptr;
}

// RFC 5256 §3: "[IMAP] addr-mailbox of the first address".
std::string first_mailbox(const std::vector<mail::Address>& list) {
    const mail::Address* a = first_address(list);
    return a ? a->mailbox : std::string();
}

// RFC 5957 §3: the decoded display-name of the first address, or its addr-spec if that is empty.
std::string first_display(const std::vector<mail::Address>& list) {
    const mail::Address* a = first_address(list);
    if (!a) return {};
    std::string name = mail::display_name_utf8(*a);
    if (!name.empty()) return name;
    return a->host.empty() ? a->mailbox : a->mailbox + "@" + a->host;
}

// RFC 5256 §2.2: the Date: header in UTC, or the internal date when it cannot be determined.
std::int64_t sent_date(const SearchMessage& m) {
    if (m.parsed && !m.parsed->envelope.date.empty())
        if (auto d = parse_rfc5322_date(m.parsed->envelope.date)) return d->utc_seconds;
    return m.internal_date;
}

std::string_view raw_subject(const SearchMessage& m) {
    return m.parsed ? std::string_view(m.parsed->envelope.subject) : std::string_view();
}

// --- message ids (RFC 5256 §2.4 REFERENCES; RFC 5322 §3.6.4) ----------------------------------------

// Every msg-id "<left@right>" in `value`, normalized: whitespace, comments' surroundings and the
// quoting of the local part removed ("<\"a b\"@x>" → "a b@x"), as RFC 5256 requires. Ids without
// '@' are not valid and skipped.
std::vector<std::string> message_ids(std::string_view value) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < value.size()) {
        size_t open = value.find('<', i);
        if (open == std::string_view::npos) break;
        size_t close = open + 1;
        bool quoted = false;
        std::string id;
        for (; close < value.size(); ++close) {
            char c = value[close];
            if (quoted) {
                if (c == '\\' && close + 1 < value.size()) {
                    id += value[++close];
                } else if (c == '"') {
                    quoted = false;
                } else if (c != '\r' && c != '\n') {
                    id += c;
                }
                continue;
            }
            if (c == '>' || c == '<') break;
            if (c == '"') quoted = true;
            else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') id += c;
        }
        if (close >= value.size() || value[close] == '<') {
            i = close;  // unterminated: look for the next '<'
            continue;
        }
        size_t at = id.find('@');
        if (at != std::string::npos && at > 0 && at + 1 < id.size()) out.push_back(std::move(id));
        i = close + 1;
    }
    return out;
}

std::vector<std::string> references_of(const SearchMessage& m) {
    if (!m.parsed) return {};
    const mail::HeaderField* refs = mail::find_field(m.parsed->top_headers, "references");
    if (refs) {
        auto ids = message_ids(refs->value);
        if (!ids.empty()) return ids;
    }
    auto irt = message_ids(m.parsed->envelope.in_reply_to);
    if (irt.size() > 1) irt.resize(1);  // only the first one (RFC 5256 §2.4)
    return irt;
}

struct ThreadInfo {
    std::uint32_t id = 0;   // what the response shows
    std::uint32_t seq = 0;  // tie-breaker
    std::int64_t date = 0;
    std::string subject;  // casemapped base subject
    bool reply = false;
};

ThreadInfo thread_info(const SearchMessage& m, bool uids) {
    ThreadInfo t;
    t.id = uids ? m.uid : m.seq;
    t.seq = m.seq;
    t.date = sent_date(m);
    BaseSubject b = extract_base_subject(raw_subject(m));
    t.subject = casemap(b.text);
    t.reply = b.reply_or_forward;
    return t;
}

// --- ORDEREDSUBJECT (RFC 5256 §3) ------------------------------------------------------------------

ThreadForest ordered_subject(std::span<const SearchMessage> messages, bool uids) {
    std::vector<ThreadInfo> info;
    info.reserve(messages.size());
    for (const auto& m : messages) info.push_back(thread_info(m, uids));
    std::sort(info.begin(), info.end(), [](const ThreadInfo& a, const ThreadInfo& b) {
        if (a.subject != b.subject) return a.subject < b.subject;
        if (a.date != b.date) return a.date < b.date;
        return a.seq < b.seq;
    });
    ThreadForest f;
    std::vector<const ThreadInfo*> first;  // per root, for ordering the threads
    for (size_t i = 0; i < info.size(); ++i) {
        f.nodes.push_back({info[i].id, {}});
        if (i > 0 && info[i].subject == info[i - 1].subject) {
            f.nodes[f.roots.back()].children.push_back(i);  // every later message is a child of the first
        } else {
            f.roots.push_back(i);
            first.push_back(&info[i]);
        }
    }
    std::vector<size_t> order(f.roots.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        if (first[a]->date != first[b]->date) return first[a]->date < first[b]->date;
        return first[a]->seq < first[b]->seq;
    });
    std::vector<size_t> roots;
    for (size_t k : order) roots.push_back(f.roots[k]);
    f.roots = std::move(roots);
    return f;
}

// --- REFERENCES (RFC 5256 §3, steps 1-6) -----------------------------------------------------------

constexpr size_t kNone = SIZE_MAX;

struct Container {
    const ThreadInfo* msg = nullptr;  // null: dummy
    size_t parent = kNone;
    std::vector<size_t> children;
};

class ReferencesThreader {
public:
    ThreadForest run(std::span<const SearchMessage> messages, bool uids) {
        // Step 1 runs in sequence order: "the first (lowest sequence number) message" keeps a duplicate id.
        std::vector<const SearchMessage*> by_seq;
        for (const auto& m : messages) by_seq.push_back(&m);
        std::stable_sort(by_seq.begin(), by_seq.end(),
                         [](const SearchMessage* a, const SearchMessage* b) { return a->seq < b->seq; });
        info_.reserve(by_seq.size());
        for (const auto* m : by_seq) info_.push_back(thread_info(*m, uids));
        for (size_t i = 0; i < by_seq.size(); ++i) link_message(*by_seq[i], info_[i]);

        // Step 2: the roots; step 3: prune dummies.
        std::vector<size_t> roots;
        for (size_t c = 0; c < c_.size(); ++c)
            if (c_[c].parent == kNone) roots.push_back(c);
        roots = prune(roots);

        // Step 4: order the roots by date (a dummy by its earliest child), then step 5.
        for (size_t r : roots) sort_children(r);
        sort_siblings(roots);
        roots = merge_by_subject(roots);

        // Step 6: sort every sibling set, deepest first.
        for (size_t c : post_order(roots)) sort_children(c);
        sort_siblings(roots);
        return to_forest(roots);
    }

private:
    size_t new_container(const ThreadInfo* msg) {
        c_.push_back(Container{msg, kNone, {}});
        return c_.size() - 1;
    }

    size_t container_for(const std::string& id) {
        auto [it, inserted] = by_id_.try_emplace(id, 0);
        if (inserted) it->second = new_container(nullptr);
        return it->second;
    }

    // True if `a` is `b` or below it.
    bool is_descendant(size_t a, size_t b) const {
        for (size_t x = a; x != kNone; x = c_[x].parent)
            if (x == b) return true;
        return false;
    }

    void unlink(size_t child) {
        size_t p = c_[child].parent;
        if (p == kNone) return;
        auto& ch = c_[p].children;
        ch.erase(std::find(ch.begin(), ch.end(), child));
        c_[child].parent = kNone;
    }

    void link(size_t parent, size_t child) {
        c_[child].parent = parent;
        c_[parent].children.push_back(child);
    }

    void link_message(const SearchMessage& m, const ThreadInfo& info) {
        // Step 1.A: a missing, invalid or duplicate Message-ID gets a container of its own.
        size_t self = kNone;
        if (m.parsed) {
            auto ids = message_ids(m.parsed->envelope.message_id);
            if (!ids.empty()) {
                size_t c = container_for(ids[0]);
                if (!c_[c].msg) self = c;
            }
        }
        if (self == kNone) self = new_container(&info);
        c_[self].msg = &info;

        std::vector<std::string> refs = references_of(m);
        size_t prev = kNone;
        for (const auto& r : refs) {
            size_t c = container_for(r);
            // Keep existing links (References may be truncated); never create a loop.
            if (prev != kNone && prev != c && c_[c].parent == kNone && !is_descendant(prev, c)) link(prev, c);
            prev = c;
        }
        // Step 1.B: the last reference is the parent, replacing whatever step 1.A guessed.
        unlink(self);
        if (prev != kNone && prev != self && !is_descendant(prev, self)) link(prev, self);
    }

    // Containers under `roots`, children before their parents.
    std::vector<size_t> post_order(const std::vector<size_t>& roots) const {
        std::vector<size_t> pre, stack(roots.rbegin(), roots.rend());
        while (!stack.empty()) {
            size_t c = stack.back();
            stack.pop_back();
            pre.push_back(c);
            for (size_t k : c_[c].children) stack.push_back(k);
        }
        std::reverse(pre.begin(), pre.end());
        return pre;
    }

    // Step 3: an empty dummy goes; a dummy with children is replaced by them, except that at the top
    // it stays when it has more than one child.
    std::vector<size_t> prune(const std::vector<size_t>& roots) {
        for (size_t c : post_order(roots)) {
            std::vector<size_t> kept;
            for (size_t k : c_[c].children) {
                if (c_[k].msg) {
                    kept.push_back(k);
                    continue;
                }
                for (size_t g : c_[k].children) {
                    c_[g].parent = c;
                    kept.push_back(g);
                }
                c_[k].children.clear();
            }
            c_[c].children = std::move(kept);
        }
        std::vector<size_t> out;
        for (size_t r : roots) {
            if (c_[r].msg || c_[r].children.size() > 1) {
                out.push_back(r);
            } else if (c_[r].children.size() == 1) {
                size_t only = c_[r].children[0];
                c_[only].parent = kNone;
                c_[r].children.clear();
                out.push_back(only);
            }
        }
        return out;
    }

    // Date key of a container: its message, or (a dummy) its first child's, recursively.
    const ThreadInfo* key(size_t c) const {
        while (!c_[c].msg && !c_[c].children.empty()) c = c_[c].children[0];
        return c_[c].msg;
    }

    void sort_siblings(std::vector<size_t>& list) const {
        std::stable_sort(list.begin(), list.end(), [&](size_t a, size_t b) {
            const ThreadInfo *ka = key(a), *kb = key(b);
            if (!ka || !kb) return ka != nullptr && kb == nullptr;
            if (ka->date != kb->date) return ka->date < kb->date;
            return ka->seq < kb->seq;
        });
    }

    void sort_children(size_t c) { sort_siblings(c_[c].children); }

    const std::string& thread_subject(size_t c) const {
        static const std::string kEmpty;
        if (c_[c].msg) return c_[c].msg->subject;
        if (!c_[c].children.empty() && c_[c].children[0] != kNone && c_[c_[c].children[0]].msg)
            return c_[c_[c].children[0]].msg->subject;
        return kEmpty;
    }

    bool is_reply(size_t c) const { return c_[c].msg && c_[c].msg->reply; }

    // Step 5: gather threads with the same base subject.
    std::vector<size_t> merge_by_subject(std::vector<size_t> roots) {
        std::unordered_map<std::string, size_t> table;
        for (size_t r : roots) {  // 5.B
            const std::string& s = thread_subject(r);
            if (s.empty()) continue;
            auto [it, inserted] = table.try_emplace(s, r);
            if (inserted) continue;
            size_t t = it->second;
            if (c_[t].msg && (!c_[r].msg || (is_reply(t) && !is_reply(r)))) it->second = r;
        }
        std::vector<bool> removed(roots.size(), false);
        std::unordered_map<size_t, size_t> position;  // container → index in roots
        for (size_t i = 0; i < roots.size(); ++i) position[roots[i]] = i;
        for (size_t i = 0; i < roots.size(); ++i) {  // 5.C
            size_t r = roots[i];
            if (removed[i]) continue;
            const std::string s = thread_subject(r);
            if (s.empty()) continue;
            size_t t = table.at(s);
            if (t == r) continue;
            if (!c_[t].msg && !c_[r].msg) {
                for (size_t k : c_[r].children) link(t, k);
                c_[r].children.clear();
            } else if (!c_[t].msg) {
                link(t, r);
            } else if (is_reply(r) && !is_reply(t)) {
                link(t, r);
            } else {
                size_t d = new_container(nullptr);
                size_t ti = position.at(t);
                link(d, t);
                link(d, r);
                roots[ti] = d;
                position.erase(t);
                position[d] = ti;
                table[s] = d;
            }
            removed[i] = true;
        }
        std::vector<size_t> out;
        for (size_t i = 0; i < roots.size(); ++i)
            if (!removed[i]) out.push_back(roots[i]);
        return out;
    }

    ThreadForest to_forest(const std::vector<size_t>& roots) const {
        ThreadForest f;
        std::vector<size_t> index(c_.size(), kNone);
        std::vector<size_t> stack(roots.rbegin(), roots.rend());
        // Pre-order: a parent gets its node index before its children.
        std::vector<size_t> pre;
        while (!stack.empty()) {
            size_t c = stack.back();
            stack.pop_back();
            pre.push_back(c);
            for (auto it = c_[c].children.rbegin(); it != c_[c].children.rend(); ++it) stack.push_back(*it);
        }
        f.nodes.reserve(pre.size());
        for (size_t c : pre) {
            index[c] = f.nodes.size();
            f.nodes.push_back({c_[c].msg ? c_[c].msg->id : 0u, {}});
        }
        for (size_t c : pre)
            for (size_t k : c_[c].children) f.nodes[index[c]].children.push_back(index[k]);
        for (size_t r : roots) f.roots.push_back(index[r]);
        return f;
    }

    std::vector<ThreadInfo> info_;
    std::vector<Container> c_;
    std::unordered_map<std::string, size_t> by_id_;
};

// --- SORT ------------------------------------------------------------------------------------------

struct SortKeys {
    const SearchMessage* m = nullptr;
    std::int64_t date = 0;
    std::string cc, from, to, subject, display_from, display_to;
};

SortKeys sort_keys(const SearchMessage& m, std::span<const SortCriterion> criteria) {
    using K = SortKey;
    SortKeys k;
    k.m = &m;
    const mail::Envelope* e = m.parsed ? &m.parsed->envelope : nullptr;
    static const mail::Envelope kEmpty;
    if (!e) e = &kEmpty;
    for (const auto& c : criteria) {
        switch (c.key) {
            case K::Date: k.date = sent_date(m); break;
            case K::Cc: k.cc = casemap(first_mailbox(e->cc)); break;
            case K::From: k.from = casemap(first_mailbox(e->from)); break;
            case K::To: k.to = casemap(first_mailbox(e->to)); break;
            case K::Subject: k.subject = casemap(base_subject(e->subject)); break;
            case K::DisplayFrom: k.display_from = casemap(first_display(e->from)); break;
            case K::DisplayTo: k.display_to = casemap(first_display(e->to)); break;
            case K::Arrival: case K::Size: break;
        }
    }
    return k;
}

template <typename T>
int three_way(const T& a, const T& b) {
    return a < b ? -1 : (b < a ? 1 : 0);
}

int compare(const SortKeys& a, const SortKeys& b, SortKey key) {
    using K = SortKey;
    switch (key) {
        case K::Arrival: return three_way(a.m->internal_date, b.m->internal_date);
        case K::Date: return three_way(a.date, b.date);
        case K::Size: return three_way(a.m->size, b.m->size);
        case K::Cc: return a.cc.compare(b.cc);
        case K::From: return a.from.compare(b.from);
        case K::To: return a.to.compare(b.to);
        case K::Subject: return a.subject.compare(b.subject);
        case K::DisplayFrom: return a.display_from.compare(b.display_from);
        case K::DisplayTo: return a.display_to.compare(b.display_to);
    }
    return 0;
}

}  // namespace

BaseSubject extract_base_subject(std::string_view subject_raw) {
    BaseSubject out;
    // (1) decode, tabs and line breaks to spaces, runs of spaces to one.
    std::string decoded = mail::decode_rfc2047(subject_raw);
    std::string s;
    s.reserve(decoded.size());
    for (char c : decoded) {
        if (c == '\t' || c == '\r' || c == '\n') c = ' ';
        if (c == ' ' && !s.empty() && s.back() == ' ') continue;
        s += c;
    }
    for (;;) {
        // (2) subj-trailer = "(fwd)" / WSP, repeatedly.
        for (;;) {
            if (!s.empty() && s.back() == ' ') {
                s.pop_back();
            } else if (s.size() >= 5 && mail::iequals(std::string_view(s).substr(s.size() - 5), "(fwd)")) {
                s.resize(s.size() - 5);
                out.reply_or_forward = true;
            } else {
                break;
            }
        }
        // (3)-(5) leaders and blobs until nothing changes.
        for (bool changed = true; changed;) {
            changed = false;
            bool refwd = false;
            while (size_t n = match_leader(s, refwd)) {
                s.erase(0, n);
                out.reply_or_forward |= refwd;
                changed = true;
            }
            size_t e = match_blob(s, 0);
            if (e != std::string_view::npos && e < s.size()) {
                s.erase(0, e);
                changed = true;
            }
        }
        // (6) "[fwd:" subject "]".
        if (s.size() >= 6 && istarts_with(s, "[fwd:") && s.back() == ']') {
            s = s.substr(5, s.size() - 6);
            out.reply_or_forward = true;
            continue;
        }
        break;
    }
    out.text = std::move(s);
    return out;
}

std::string base_subject(std::string_view subject_raw) { return extract_base_subject(subject_raw).text; }

std::vector<std::uint32_t> sort_messages(std::span<const SortCriterion> criteria,
                                         std::span<const SearchMessage> messages, bool uids) {
    std::vector<SortKeys> keys;
    keys.reserve(messages.size());
    for (const auto& m : messages) keys.push_back(sort_keys(m, criteria));
    std::sort(keys.begin(), keys.end(), [&](const SortKeys& a, const SortKeys& b) {
        for (const auto& c : criteria) {
            int r = compare(a, b, c.key);
            if (r != 0) return c.reverse ? r > 0 : r < 0;
        }
        return a.m->seq < b.m->seq;  // RFC 5256 §3: implicit, unreversed sequence-number criterion
    });
    std::vector<std::uint32_t> out;
    out.reserve(keys.size());
    for (const auto& k : keys) out.push_back(uids ? k.m->uid : k.m->seq);
    return out;
}

ThreadForest thread_messages(ThreadAlgorithm algorithm, std::span<const SearchMessage> messages, bool uids) {
    if (algorithm == ThreadAlgorithm::OrderedSubject) return ordered_subject(messages, uids);
    return ReferencesThreader{}.run(messages, uids);
}

std::string render_threads(const ThreadForest& forest) {
    // Explicit stack of pending output: a node index to render, or a literal text piece.
    struct Item {
        size_t node;
        const char* text;  // non-null: emit this instead
    };
    std::string out;
    std::vector<Item> stack;
    for (auto it = forest.roots.rbegin(); it != forest.roots.rend(); ++it) {
        stack.push_back({0, ")"});
        stack.push_back({*it, nullptr});
        stack.push_back({0, "("});
    }
    while (!stack.empty()) {
        Item item = stack.back();
        stack.pop_back();
        if (item.text) {
            out += item.text;
            continue;
        }
        const auto& n = forest.nodes[item.node];
        if (n.id) out += std::to_string(n.id);
        if (n.children.size() == 1) {
            stack.push_back({n.children[0], nullptr});
            if (n.id) stack.push_back({0, " "});
        } else if (n.children.size() > 1) {
            for (auto it = n.children.rbegin(); it != n.children.rend(); ++it) {
                stack.push_back({0, ")"});
                stack.push_back({*it, nullptr});
                stack.push_back({0, "("});
            }
            if (n.id) stack.push_back({0, " "});
        }
    }
    return out;
}

std::string thread_response(ThreadAlgorithm algorithm, std::span<const SearchMessage> messages, bool uids) {
    return render_threads(thread_messages(algorithm, messages, uids));
}

}  // namespace roost::imap
