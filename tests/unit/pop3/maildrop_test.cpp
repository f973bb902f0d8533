// The maildrop snapshot (pop3d/protocol/maildrop.hpp): RFC 1939 §4 numbering, §5 STAT/LIST/DELE/RSET,
// §6 what UPDATE removes, §7 unique-ids.
#include <gtest/gtest.h>

#include "pop3d/protocol/maildrop.hpp"

namespace roost::pop3 {
namespace {

Maildrop sample() {
    // UIDs need not be contiguous (IMAP may have expunged some); numbers are.
    return Maildrop(77, {{3, 120, 30}, {5, 200, 50}, {9, 1000, 90}});
}

TEST(Maildrop, NumbersSizesAndTotals) {
    auto m = sample();
    EXPECT_EQ(m.count(), 3u);
    EXPECT_EQ(m.snapshot_size(), 3u);
    EXPECT_EQ(m.total_size(), 1320u);
    EXPECT_EQ(m.lookup(1), Maildrop::Lookup::Found);
    EXPECT_EQ(m.message(1).uid, 3u);
    EXPECT_EQ(m.message(2).size, 200u);
    EXPECT_EQ(m.message(3).blob_id, 90);
    EXPECT_EQ(m.lookup(0), Maildrop::Lookup::NoSuchMessage);
    EXPECT_EQ(m.lookup(4), Maildrop::Lookup::NoSuchMessage);
    EXPECT_EQ(m.lookup(UINT32_MAX), Maildrop::Lookup::NoSuchMessage);
}

TEST(Maildrop, DeleteMarksAndHides) {
    auto m = sample();
    EXPECT_EQ(m.mark_deleted(2), Maildrop::Lookup::Found);
    // RFC 1939 §5: deleted messages are not counted and may not be referred to; numbers do not shift.
    EXPECT_EQ(m.count(), 2u);
    EXPECT_EQ(m.total_size(), 1120u);
    EXPECT_EQ(m.snapshot_size(), 3u);
    EXPECT_EQ(m.lookup(2), Maildrop::Lookup::Deleted);
    EXPECT_TRUE(m.is_deleted(2));
    EXPECT_EQ(m.lookup(3), Maildrop::Lookup::Found);
    EXPECT_EQ(m.message(3).uid, 9u);
    EXPECT_EQ(m.mark_deleted(2), Maildrop::Lookup::Deleted);  // "already deleted"
    EXPECT_EQ(m.count(), 2u);
    EXPECT_EQ(m.mark_deleted(0), Maildrop::Lookup::NoSuchMessage);
    EXPECT_EQ(m.mark_deleted(4), Maildrop::Lookup::NoSuchMessage);
}

TEST(Maildrop, DeletedUidsAreWhatUpdateRemoves) {
    auto m = sample();
    EXPECT_TRUE(m.deleted_uids().empty());
    m.mark_deleted(3);
    m.mark_deleted(1);
    EXPECT_EQ(m.deleted_uids(), (std::vector<std::uint32_t>{3, 9}));
}

TEST(Maildrop, RsetUnmarksEverything) {
    auto m = sample();
    m.mark_deleted(1);
    m.mark_deleted(3);
    m.reset();
    EXPECT_EQ(m.count(), 3u);
    EXPECT_EQ(m.total_size(), 1320u);
    EXPECT_TRUE(m.deleted_uids().empty());
    EXPECT_EQ(m.lookup(1), Maildrop::Lookup::Found);
}

TEST(Maildrop, UniqueIdsFromUidValidityAndUid) {
    auto m = sample();
    EXPECT_EQ(m.unique_id(1), "77.3");
    EXPECT_EQ(m.unique_id(3), "77.9");
    // The same message gets the same id in a later session, whatever its message number is then.
    Maildrop later(77, {{9, 1000, 90}});
    EXPECT_EQ(later.unique_id(1), m.unique_id(3));
}

TEST(Maildrop, Empty) {
    Maildrop m;
    EXPECT_EQ(m.count(), 0u);
    EXPECT_EQ(m.total_size(), 0u);
    EXPECT_EQ(m.lookup(1), Maildrop::Lookup::NoSuchMessage);
    m.reset();
    EXPECT_TRUE(m.deleted_uids().empty());
}

}  // namespace
}  // namespace roost::pop3
