// Out-of-line members of the shared IMAP value types (types.hpp).
#include "imapd/protocol/types.hpp"

#include <utility>

namespace roost::imap {

// `*` resolves to `max`; a range matches in either order (RFC 9051 §9 seq-range). A saved set ("$",
// RFC 5182) contains nothing by itself: the session substitutes the saved result before calling this.
bool SequenceSet::contains(std::uint32_t n, std::uint32_t max) const {
    for (const auto& r : ranges) {
        std::uint32_t a = r.first == kStar ? max : r.first;
        std::uint32_t b = r.last == kStar ? max : r.last;
        if (a > b) std::swap(a, b);
        if (n >= a && n <= b) return true;
    }
    return false;
}

}  // namespace roost::imap
