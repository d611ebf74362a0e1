#ifndef CPOWERCUT_SQLITE_SHIM_H
#define CPOWERCUT_SQLITE_SHIM_H
// The system SQLite, for reading a power-cut image independently of the relay's own wrapper
// (which is not a product of the relay's package).
#include <sqlite3.h>
#endif
