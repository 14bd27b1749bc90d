// The trace file's schema: its version, the SQL that creates it, and the forward-only migrations
// from every earlier version (style lesson 13: version everything that reaches disk, and keep
// reading the old versions). The layout itself is documented in schema.cpp.
#pragma once

#include <string>

#include "storage/sqlite_util.h"

namespace moescope::storage {

// The version this build writes and the newest it reads.
constexpr int kSchemaVersion = 3;

// The file's meta.schema_version. Throws naming the file when it is not a moescope trace (no
// meta table or no schema_version), when it is newer than kSchemaVersion, or when it is corrupt.
int read_schema_version(Db& db);

// For a writer, inside a write transaction: creates the current schema in an empty database, or
// migrates an older one forward; throws for a newer schema or a database that is not a trace.
// Returns the version the file had (0 for a new file).
int prepare_schema(Db& db);

// Applies the migrations from version `from` to kSchemaVersion (inside the caller's transaction).
void migrate(Db& db, int from);

}  // namespace moescope::storage
