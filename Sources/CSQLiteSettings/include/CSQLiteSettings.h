#ifndef CSQLITESETTINGS_H
#define CSQLITESETTINGS_H

/// Process-wide SQLite settings, which only `sqlite3_config` can make (a variadic C function that
/// Swift cannot call). Must run before SQLite is first used in the process; returns 0 (SQLITE_OK)
/// when applied, another SQLite result code when SQLite was already in use (nothing changes then).
///
/// - Multi-thread mode: no mutex around each call on a connection. GRDB already serializes every use
///   of a connection (its `SerializedDatabase`), which is the mode GRDB documents as supported.
/// - No memory statistics: SQLite would otherwise take a global mutex on every allocation.
int captured_sqlite_configure(void);

#endif
