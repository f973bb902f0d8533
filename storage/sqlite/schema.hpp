#pragma once

#include "storage/sqlite/db.hpp"

namespace roost::store::sqlite {

// Applies every migration newer than PRAGMA user_version, each in its own transaction. Safe to run from
// several processes at once (BEGIN IMMEDIATE serialises them; the loser sees the new version and skips).
void migrate(Db& db);
int schema_version();

}  // namespace roost::store::sqlite
