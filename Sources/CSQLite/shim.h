#ifndef CSQLITE_SHIM_H
#define CSQLITE_SHIM_H
#include <sqlite3.h>

// SQLITE_TRANSIENT and SQLITE_STATIC are function-pointer casts that Swift cannot import.
// These typed wrappers let the Swift layer choose without re-creating the casts by hand.

/// Copies the text: the caller's buffer may go away as soon as this returns.
static inline int csqlite_bind_text_transient(sqlite3_stmt *stmt, int index, const char *text, int length) {
    return sqlite3_bind_text(stmt, index, text, length, SQLITE_TRANSIENT);
}

/// Does not copy: the caller keeps the buffer alive until the statement is reset or rebound.
static inline int csqlite_bind_text_static(sqlite3_stmt *stmt, int index, const char *text, int length) {
    return sqlite3_bind_text(stmt, index, text, length, SQLITE_STATIC);
}

/// Copies the bytes.
static inline int csqlite_bind_blob_transient(sqlite3_stmt *stmt, int index, const void *bytes, int length) {
    return sqlite3_bind_blob(stmt, index, bytes, length, SQLITE_TRANSIENT);
}

/// sqlite3_config is variadic, which Swift cannot call. Turns off SQLite's global memory
/// statistics: they take a process-wide mutex around every allocation, and Debian's build has
/// no lookaside allocator, so every small allocation of every statement step would pay it.
/// Only valid before SQLite initialises (before the first connection opens).
static inline int csqlite_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
#endif
