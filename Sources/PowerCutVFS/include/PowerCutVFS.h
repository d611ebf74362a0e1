#ifndef POWERCUT_VFS_H
#define POWERCUT_VFS_H
// A crash-simulating SQLite VFS, for tests only (the power-cut driver, Chaos/powercut.sh, and
// Tests/PowerCutVFSTests): it is never linked into millimetric-relay.
//
// It wraps the platform's VFS ("unix"): every call goes through, and in addition it keeps, for
// each file it opened, the file's content as of its last xSync (what a disk must keep when the
// power goes) and the writes and truncations made since (what it may or may not keep). At the
// cut, every later write, sync, truncate, read and delete fails, as if the machine had stopped;
// powercut_vfs_write_image() then writes the files as a disk could hold them after the power
// loss. The model, after SQLite's crash.test (src/test6.c):
//   - synced content is kept;
//   - each write since the file's last xSync is kept whole, dropped whole, or torn: each
//     512-byte sector it touches kept or dropped on its own; later writes are applied after
//     earlier ones, each by its own draw; a truncation since the last xSync is kept or dropped;
//   - a file created while tracked has a durable directory entry only once the directory was
//     synced: SQLite's unix VFS does that on the first xSync of a WAL or journal opened with
//     SQLITE_OPEN_CREATE, never for a main database. Until then the file may vanish whole;
//   - an xDelete without its dirSync flag may or may not have reached the disk;
//   - files that existed when first opened count as durable (the driver made them earlier);
//   - the -shm file is not opened through xOpen and is never part of the image: it is not
//     durable state (SQLite rebuilds it from the WAL).
// Draws come from a seeded generator: the same seed and the same calls give the same image.
#include <stdint.h>

/// What happens to the unsynced writes when the image is built.
typedef enum {
    /// Each write kept, dropped or torn at random (the model above).
    POWERCUT_UNSYNCED_RANDOM = 0,
    /// Every unsynced write and truncation kept (the disk happened to write everything).
    POWERCUT_UNSYNCED_KEEP = 1,
    /// Every unsynced write and truncation dropped.
    POWERCUT_UNSYNCED_DROP = 2,
    /// Every unsynced write torn: each sector kept or dropped on its own (tests).
    POWERCUT_UNSYNCED_TEAR = 3,
} PowerCutUnsyncedPolicy;

/// What the last image held back.
typedef struct {
    /// Files written to the image directory.
    int64_t filesWritten;
    /// Files whose directory entry was not durable and that the draw made vanish.
    int64_t filesVanished;
    /// Writes not yet synced at the cut, and of them how many were dropped whole or torn.
    int64_t unsyncedWrites;
    int64_t writesDropped;
    int64_t writesTorn;
} PowerCutImageStatistics;

/// Registers the VFS under `name` (not as the default), wrapping the default VFS. Returns an
/// SQLite result code; registering the same name again is a no-op.
int powercut_vfs_register(const char *name);

/// Forgets every tracked file and arms the next cut: the `cutAtOperation`-th write, truncate,
/// sync or delete (counting from 1) fails and the power is off from then on; 0 arms none.
/// Call only while no file of the VFS is open.
void powercut_vfs_reset(uint64_t seed, int64_t cutAtOperation);

/// How unsynced writes fare in the image (default POWERCUT_UNSYNCED_RANDOM).
void powercut_vfs_set_unsynced_policy(PowerCutUnsyncedPolicy policy);

/// Writes, truncates, syncs and deletes seen since the reset.
int64_t powercut_vfs_operations(void);

/// Whether the power is off.
int powercut_vfs_is_cut(void);

/// Cuts the power now (when the armed operation was never reached).
void powercut_vfs_cut(void);

/// The program fsynced `directory` (outside SQLite, which reports only its own directory syncs
/// through the files' xSync): the entries of the tracked files in it become durable, and their
/// unlinks too. Counts as one operation, and does nothing once the power is off.
void powercut_vfs_directory_synced(const char *directory);

/// Writes the files as they would be after the power loss into `directory` (which must exist),
/// each under its base name. Returns 0, or -1 with errno set when a file cannot be written.
int powercut_vfs_write_image(const char *directory, PowerCutImageStatistics *statistics);

#endif
