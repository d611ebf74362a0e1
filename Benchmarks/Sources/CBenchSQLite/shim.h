#ifndef C_BENCH_SQLITE_SHIM_H
#define C_BENCH_SQLITE_SHIM_H

#include <sqlite3.h>

// SQLITE_STATIC is a cast macro that Swift cannot import; the bare-SQLite loop binds each row's
// bytes without a copy, valid until the statement is stepped and reset.
static inline int bench_sqlite_bind_text_static(sqlite3_stmt *statement, int index, const char *text, int bytes) {
    return sqlite3_bind_text(statement, index, text, bytes, SQLITE_STATIC);
}

#endif
