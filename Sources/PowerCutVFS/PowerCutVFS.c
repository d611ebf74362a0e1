// The crash-simulating VFS: see include/PowerCutVFS.h for the model.
#include "PowerCutVFS.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECTOR_SIZE 512

/// One write or truncation made since the file's last xSync.
typedef struct {
    int isTruncate;
    sqlite3_int64 offset; // where the write starts, or the size a truncation leaves
    int length;
    unsigned char *data;
} PendingOperation;

/// What the VFS knows about one path.
typedef struct TrackedFile {
    char *path;
    /// The content as of the last xSync: what the disk keeps.
    unsigned char *durable;
    sqlite3_int64 durableSize;
    sqlite3_int64 durableCapacity;
    PendingOperation *pending;
    int pendingCount;
    int pendingCapacity;
    /// Whether the file's directory entry survives the power loss.
    int entryDurable;
    /// SQLite's unix VFS syncs the directory on this file's first xSync (UNIXFILE_DIRSYNC).
    int firstSyncSyncsDirectory;
    /// Deleted durably (xDelete with dirSync): not part of the image.
    int gone;
    /// Deleted without a directory sync: the unlink may or may not survive.
    int deletePending;
    struct TrackedFile *next;
} TrackedFile;

/// A file opened through the VFS: the wrapper, then the wrapped VFS's own file right after it.
typedef struct {
    sqlite3_file base;
    TrackedFile *tracked; // NULL for temporary files (no name): not durable state
    sqlite3_file *real;
} PowerCutFile;

static struct {
    pthread_mutex_t lock;
    sqlite3_vfs vfs;
    sqlite3_vfs *wrapped;
    int registered;
    TrackedFile *files;
    uint64_t random;
    int64_t operations;
    int64_t cutAt;
    int cut;
    PowerCutUnsyncedPolicy policy;
} state = {.lock = PTHREAD_MUTEX_INITIALIZER};

// MARK: - Helpers (all called with state.lock held)

/// splitmix64: small, seedable, good enough to pick fates.
static uint64_t nextRandom(void) {
    uint64_t z = (state.random += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/// Counts one write, truncate, sync or delete; returns 1 when the power is (now) off.
static int powerFailsAtThisOperation(void) {
    if (state.cut) return 1;
    state.operations += 1;
    if (state.cutAt > 0 && state.operations >= state.cutAt) {
        state.cut = 1;
        return 1;
    }
    return 0;
}

/// Starts a write, truncate, sync or delete: takes the lock and returns 0, or, when the power
/// fails at this operation, lets the lock go again and returns 1 (the caller answers its error).
static int beginOperationUnlessCut(void) {
    pthread_mutex_lock(&state.lock);
    if (!powerFailsAtThisOperation()) return 0;
    pthread_mutex_unlock(&state.lock);
    return 1;
}

static void *growOrDie(void *pointer, size_t bytes) {
    void *grown = realloc(pointer, bytes);
    if (grown == NULL && bytes > 0) {
        fprintf(stderr, "powercut vfs: out of memory\n");
        abort();
    }
    return grown;
}

/// Makes `buffer` exactly `size` bytes long, zero-filling what it adds.
static void resizeImage(unsigned char **buffer, sqlite3_int64 *size, sqlite3_int64 *capacity, sqlite3_int64 newSize) {
    if (newSize > *capacity) {
        sqlite3_int64 grown = *capacity * 2 > newSize ? *capacity * 2 : newSize;
        *buffer = growOrDie(*buffer, (size_t)grown);
        *capacity = grown;
    }
    if (newSize > *size) memset(*buffer + *size, 0, (size_t)(newSize - *size));
    *size = newSize;
}

static void writeIntoImage(unsigned char **buffer, sqlite3_int64 *size, sqlite3_int64 *capacity,
                           sqlite3_int64 offset, const unsigned char *data, int length) {
    if (offset + length > *size) resizeImage(buffer, size, capacity, offset + length);
    memcpy(*buffer + offset, data, (size_t)length);
}

static void clearPending(TrackedFile *file) {
    for (int i = 0; i < file->pendingCount; i++) free(file->pending[i].data);
    file->pendingCount = 0;
}

static PendingOperation *appendPending(TrackedFile *file) {
    if (file->pendingCount == file->pendingCapacity) {
        file->pendingCapacity = file->pendingCapacity ? file->pendingCapacity * 2 : 16;
        file->pending = growOrDie(file->pending, sizeof(PendingOperation) * (size_t)file->pendingCapacity);
    }
    PendingOperation *operation = &file->pending[file->pendingCount++];
    memset(operation, 0, sizeof *operation);
    return operation;
}

/// The disk acknowledged a sync: everything written so far is durable.
static void makeDurable(TrackedFile *file) {
    for (int i = 0; i < file->pendingCount; i++) {
        PendingOperation *operation = &file->pending[i];
        if (operation->isTruncate) {
            resizeImage(&file->durable, &file->durableSize, &file->durableCapacity, operation->offset);
        } else {
            writeIntoImage(&file->durable, &file->durableSize, &file->durableCapacity, operation->offset, operation->data, operation->length);
        }
    }
    clearPending(file);
    if (file->firstSyncSyncsDirectory) {
        file->entryDurable = 1;
        file->firstSyncSyncsDirectory = 0;
    }
}

static TrackedFile *findTracked(const char *path) {
    for (TrackedFile *file = state.files; file; file = file->next) {
        if (strcmp(file->path, path) == 0) return file;
    }
    return NULL;
}

/// Reads the file at `path` as it is now into `file->durable`.
static void readExisting(TrackedFile *file, const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    unsigned char chunk[65536];
    ssize_t count;
    while ((count = read(fd, chunk, sizeof chunk)) > 0) {
        writeIntoImage(&file->durable, &file->durableSize, &file->durableCapacity, file->durableSize, chunk, (int)count);
    }
    close(fd);
}

/// The record for a path being opened: an existing one, or a fresh one for a file first seen
/// (durable if it existed before, not yet durable if this open creates it).
static TrackedFile *trackOnOpen(const char *path, int existedBefore, int flags) {
    TrackedFile *file = findTracked(path);
    if (file && !file->gone && !file->deletePending) return file;
    if (!file) {
        file = growOrDie(NULL, sizeof *file);
        memset(file, 0, sizeof *file);
        file->path = strdup(path);
        file->next = state.files;
        state.files = file;
    } else {
        // Recreated after a delete: the old content is gone for this model (a simplification:
        // an unsynced unlink followed by a re-creation is taken as durable).
        clearPending(file);
        file->durableSize = 0;
        file->gone = 0;
        file->deletePending = 0;
    }
    if (existedBefore) {
        readExisting(file, path);
        file->entryDurable = 1;
        file->firstSyncSyncsDirectory = 0;
    } else {
        file->entryDurable = 0;
        int journal = flags & (SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_SUPER_JOURNAL);
        file->firstSyncSyncsDirectory = (flags & SQLITE_OPEN_CREATE) && journal;
    }
    return file;
}

// MARK: - sqlite3_io_methods

static int pcClose(sqlite3_file *file) {
    PowerCutFile *p = (PowerCutFile *)file;
    // Always closes the descriptor, cut or not: the process goes on after the "power loss".
    return p->real->pMethods->xClose(p->real);
}

static int pcRead(sqlite3_file *file, void *buffer, int amount, sqlite3_int64 offset) {
    PowerCutFile *p = (PowerCutFile *)file;
    pthread_mutex_lock(&state.lock);
    int cut = state.cut;
    pthread_mutex_unlock(&state.lock);
    if (cut) return SQLITE_IOERR_READ;
    return p->real->pMethods->xRead(p->real, buffer, amount, offset);
}

static int pcWrite(sqlite3_file *file, const void *buffer, int amount, sqlite3_int64 offset) {
    PowerCutFile *p = (PowerCutFile *)file;
    if (beginOperationUnlessCut()) return SQLITE_IOERR_WRITE;
    int rc = p->real->pMethods->xWrite(p->real, buffer, amount, offset);
    if (rc == SQLITE_OK && p->tracked) {
        PendingOperation *operation = appendPending(p->tracked);
        operation->offset = offset;
        operation->length = amount;
        operation->data = growOrDie(NULL, (size_t)amount);
        memcpy(operation->data, buffer, (size_t)amount);
    }
    pthread_mutex_unlock(&state.lock);
    return rc;
}

// pcWrite, pcTruncate and pcSync have one shape on purpose (`duplicates` pairs them): each is
// one sqlite3_io_methods entry that checks for the cut, calls the real method and records what
// the disk may keep; C has no closure to pass the call in that would make them shorter.
static int pcTruncate(sqlite3_file *file, sqlite3_int64 size) {
    PowerCutFile *p = (PowerCutFile *)file;
    if (beginOperationUnlessCut()) return SQLITE_IOERR_TRUNCATE;
    int rc = p->real->pMethods->xTruncate(p->real, size);
    if (rc == SQLITE_OK && p->tracked) {
        PendingOperation *operation = appendPending(p->tracked);
        operation->isTruncate = 1;
        operation->offset = size;
    }
    pthread_mutex_unlock(&state.lock);
    return rc;
}

static int pcSync(sqlite3_file *file, int flags) {
    PowerCutFile *p = (PowerCutFile *)file;
    if (beginOperationUnlessCut()) return SQLITE_IOERR_FSYNC;
    int rc = p->real->pMethods->xSync(p->real, flags);
    if (rc == SQLITE_OK && p->tracked) makeDurable(p->tracked);
    pthread_mutex_unlock(&state.lock);
    return rc;
}

static int pcFileSize(sqlite3_file *file, sqlite3_int64 *size) {
    PowerCutFile *p = (PowerCutFile *)file;
    pthread_mutex_lock(&state.lock);
    int cut = state.cut;
    pthread_mutex_unlock(&state.lock);
    if (cut) return SQLITE_IOERR_FSTAT;
    return p->real->pMethods->xFileSize(p->real, size);
}

static int pcLock(sqlite3_file *file, int level) {
    PowerCutFile *p = (PowerCutFile *)file;
    return p->real->pMethods->xLock(p->real, level);
}

static int pcUnlock(sqlite3_file *file, int level) {
    PowerCutFile *p = (PowerCutFile *)file;
    return p->real->pMethods->xUnlock(p->real, level);
}

static int pcCheckReservedLock(sqlite3_file *file, int *result) {
    PowerCutFile *p = (PowerCutFile *)file;
    return p->real->pMethods->xCheckReservedLock(p->real, result);
}

static int pcFileControl(sqlite3_file *file, int op, void *argument) {
    PowerCutFile *p = (PowerCutFile *)file;
    // A size hint would let the unix VFS grow the file behind the model's back (it only does
    // with a chunk size set, which the relay never sets); refuse it so the model stays exact.
    if (op == SQLITE_FCNTL_SIZE_HINT || op == SQLITE_FCNTL_CHUNK_SIZE) return SQLITE_NOTFOUND;
    return p->real->pMethods->xFileControl(p->real, op, argument);
}

static int pcSectorSize(sqlite3_file *file) {
    PowerCutFile *p = (PowerCutFile *)file;
    return p->real->pMethods->xSectorSize(p->real);
}

static int pcDeviceCharacteristics(sqlite3_file *file) {
    PowerCutFile *p = (PowerCutFile *)file;
    return p->real->pMethods->xDeviceCharacteristics(p->real);
}

static int pcShmMap(sqlite3_file *file, int region, int size, int extend, void volatile **pointer) {
    PowerCutFile *p = (PowerCutFile *)file;
    return p->real->pMethods->xShmMap(p->real, region, size, extend, pointer);
}

static int pcShmLock(sqlite3_file *file, int offset, int count, int flags) {
    PowerCutFile *p = (PowerCutFile *)file;
    return p->real->pMethods->xShmLock(p->real, offset, count, flags);
}

static void pcShmBarrier(sqlite3_file *file) {
    PowerCutFile *p = (PowerCutFile *)file;
    p->real->pMethods->xShmBarrier(p->real);
}

static int pcShmUnmap(sqlite3_file *file, int deleteFlag) {
    PowerCutFile *p = (PowerCutFile *)file;
    return p->real->pMethods->xShmUnmap(p->real, deleteFlag);
}

/// Version 2: shared memory (WAL) but no memory-mapped I/O, so every write goes through xWrite.
static const sqlite3_io_methods ioMethods = {
    .iVersion = 2,
    .xClose = pcClose,
    .xRead = pcRead,
    .xWrite = pcWrite,
    .xTruncate = pcTruncate,
    .xSync = pcSync,
    .xFileSize = pcFileSize,
    .xLock = pcLock,
    .xUnlock = pcUnlock,
    .xCheckReservedLock = pcCheckReservedLock,
    .xFileControl = pcFileControl,
    .xSectorSize = pcSectorSize,
    .xDeviceCharacteristics = pcDeviceCharacteristics,
    .xShmMap = pcShmMap,
    .xShmLock = pcShmLock,
    .xShmBarrier = pcShmBarrier,
    .xShmUnmap = pcShmUnmap,
};

// MARK: - sqlite3_vfs

static int pcOpen(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *outFlags) {
    (void)vfs;
    PowerCutFile *p = (PowerCutFile *)file;
    p->base.pMethods = NULL;
    p->tracked = NULL;
    p->real = (sqlite3_file *)(p + 1);
    pthread_mutex_lock(&state.lock);
    if (state.cut) {
        pthread_mutex_unlock(&state.lock);
        return SQLITE_CANTOPEN;
    }
    int existedBefore = name != NULL && access(name, F_OK) == 0;
    int rc = state.wrapped->xOpen(state.wrapped, name, p->real, flags, outFlags);
    if (rc == SQLITE_OK) {
        if (name != NULL) p->tracked = trackOnOpen(name, existedBefore, flags);
        p->base.pMethods = &ioMethods;
    } else if (p->real->pMethods) {
        p->real->pMethods->xClose(p->real);
    }
    pthread_mutex_unlock(&state.lock);
    return rc;
}

static int pcDelete(sqlite3_vfs *vfs, const char *name, int syncDirectory) {
    (void)vfs;
    if (beginOperationUnlessCut()) return SQLITE_IOERR_DELETE;
    int rc = state.wrapped->xDelete(state.wrapped, name, syncDirectory);
    TrackedFile *file = findTracked(name);
    if (rc == SQLITE_OK && file && !file->gone) {
        clearPending(file);
        if (syncDirectory || !file->entryDurable) {
            file->gone = 1;
            file->deletePending = 0;
        } else {
            file->deletePending = 1;
        }
    }
    pthread_mutex_unlock(&state.lock);
    return rc;
}

static int pcAccess(sqlite3_vfs *vfs, const char *name, int flags, int *result) {
    (void)vfs;
    return state.wrapped->xAccess(state.wrapped, name, flags, result);
}

static int pcFullPathname(sqlite3_vfs *vfs, const char *name, int size, char *out) {
    (void)vfs;
    return state.wrapped->xFullPathname(state.wrapped, name, size, out);
}

static void *pcDlOpen(sqlite3_vfs *vfs, const char *path) {
    (void)vfs;
    return state.wrapped->xDlOpen(state.wrapped, path);
}

static void pcDlError(sqlite3_vfs *vfs, int size, char *message) {
    (void)vfs;
    state.wrapped->xDlError(state.wrapped, size, message);
}

static void (*pcDlSym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void) {
    (void)vfs;
    return state.wrapped->xDlSym(state.wrapped, handle, symbol);
}

static void pcDlClose(sqlite3_vfs *vfs, void *handle) {
    (void)vfs;
    state.wrapped->xDlClose(state.wrapped, handle);
}

static int pcRandomness(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    return state.wrapped->xRandomness(state.wrapped, size, out);
}

static int pcSleep(sqlite3_vfs *vfs, int microseconds) {
    (void)vfs;
    return state.wrapped->xSleep(state.wrapped, microseconds);
}

static int pcCurrentTime(sqlite3_vfs *vfs, double *now) {
    (void)vfs;
    return state.wrapped->xCurrentTime(state.wrapped, now);
}

static int pcGetLastError(sqlite3_vfs *vfs, int size, char *message) {
    (void)vfs;
    return state.wrapped->xGetLastError ? state.wrapped->xGetLastError(state.wrapped, size, message) : 0;
}

static int pcCurrentTimeInt64(sqlite3_vfs *vfs, sqlite3_int64 *now) {
    (void)vfs;
    return state.wrapped->xCurrentTimeInt64(state.wrapped, now);
}

int powercut_vfs_register(const char *name) {
    pthread_mutex_lock(&state.lock);
    if (state.registered) {
        pthread_mutex_unlock(&state.lock);
        return SQLITE_OK;
    }
    int rc = sqlite3_initialize();
    sqlite3_vfs *wrapped = rc == SQLITE_OK ? sqlite3_vfs_find(NULL) : NULL;
    if (wrapped == NULL) {
        pthread_mutex_unlock(&state.lock);
        return rc == SQLITE_OK ? SQLITE_ERROR : rc;
    }
    state.wrapped = wrapped;
    state.vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(PowerCutFile) + wrapped->szOsFile,
        .mxPathname = wrapped->mxPathname,
        .zName = strdup(name),
        .xOpen = pcOpen,
        .xDelete = pcDelete,
        .xAccess = pcAccess,
        .xFullPathname = pcFullPathname,
        .xDlOpen = pcDlOpen,
        .xDlError = pcDlError,
        .xDlSym = pcDlSym,
        .xDlClose = pcDlClose,
        .xRandomness = pcRandomness,
        .xSleep = pcSleep,
        .xCurrentTime = pcCurrentTime,
        .xGetLastError = pcGetLastError,
        .xCurrentTimeInt64 = pcCurrentTimeInt64,
    };
    rc = sqlite3_vfs_register(&state.vfs, 0);
    if (rc == SQLITE_OK) state.registered = 1;
    state.policy = POWERCUT_UNSYNCED_RANDOM;
    pthread_mutex_unlock(&state.lock);
    return rc;
}

// MARK: - Control

void powercut_vfs_reset(uint64_t seed, int64_t cutAtOperation) {
    pthread_mutex_lock(&state.lock);
    TrackedFile *file = state.files;
    while (file) {
        TrackedFile *next = file->next;
        clearPending(file);
        free(file->pending);
        free(file->durable);
        free(file->path);
        free(file);
        file = next;
    }
    state.files = NULL;
    state.random = seed;
    state.operations = 0;
    state.cutAt = cutAtOperation;
    state.cut = 0;
    pthread_mutex_unlock(&state.lock);
}

void powercut_vfs_set_unsynced_policy(PowerCutUnsyncedPolicy policy) {
    pthread_mutex_lock(&state.lock);
    state.policy = policy;
    pthread_mutex_unlock(&state.lock);
}

int64_t powercut_vfs_operations(void) {
    pthread_mutex_lock(&state.lock);
    int64_t operations = state.operations;
    pthread_mutex_unlock(&state.lock);
    return operations;
}

int powercut_vfs_is_cut(void) {
    pthread_mutex_lock(&state.lock);
    int cut = state.cut;
    pthread_mutex_unlock(&state.lock);
    return cut;
}

void powercut_vfs_cut(void) {
    pthread_mutex_lock(&state.lock);
    state.cut = 1;
    pthread_mutex_unlock(&state.lock);
}

void powercut_vfs_directory_synced(const char *directory) {
    size_t length = strlen(directory);
    while (length > 1 && directory[length - 1] == '/') length--;
    pthread_mutex_lock(&state.lock);
    if (!powerFailsAtThisOperation()) {
        for (TrackedFile *file = state.files; file; file = file->next) {
            const char *slash = strrchr(file->path, '/');
            if (!slash || (size_t)(slash - file->path) != length || strncmp(file->path, directory, length) != 0) continue;
            if (file->deletePending) {
                file->deletePending = 0;
                file->gone = 1;
            }
            file->entryDurable = 1;
            file->firstSyncSyncsDirectory = 0;
        }
    }
    pthread_mutex_unlock(&state.lock);
}

// MARK: - The image after the power loss

/// The fate of one unsynced write under the current policy: 0 kept, 1 dropped, 2 torn.
static int drawWriteFate(void) {
    switch (state.policy) {
    case POWERCUT_UNSYNCED_KEEP: return 0;
    case POWERCUT_UNSYNCED_DROP: return 1;
    case POWERCUT_UNSYNCED_TEAR: return 2;
    case POWERCUT_UNSYNCED_RANDOM: default: return (int)(nextRandom() % 3);
    }
}

static int drawKeep(void) {
    switch (state.policy) {
    case POWERCUT_UNSYNCED_KEEP: return 1;
    case POWERCUT_UNSYNCED_DROP: return 0;
    default: return (int)(nextRandom() & 1);
    }
}

/// Applies one unsynced write to `image` by its drawn fate.
static void applyUnsyncedWrite(const PendingOperation *operation, unsigned char **image, sqlite3_int64 *size,
                               sqlite3_int64 *capacity, PowerCutImageStatistics *statistics) {
    statistics->unsyncedWrites += 1;
    int fate = drawWriteFate();
    if (fate == 0) {
        writeIntoImage(image, size, capacity, operation->offset, operation->data, operation->length);
        return;
    }
    if (fate == 1) {
        statistics->writesDropped += 1;
        return;
    }
    // Torn: each sector-aligned piece on its own.
    statistics->writesTorn += 1;
    sqlite3_int64 start = operation->offset;
    sqlite3_int64 end = operation->offset + operation->length;
    while (start < end) {
        sqlite3_int64 sectorEnd = (start / SECTOR_SIZE + 1) * SECTOR_SIZE;
        sqlite3_int64 pieceEnd = sectorEnd < end ? sectorEnd : end;
        if (nextRandom() & 1) {
            writeIntoImage(image, size, capacity, start, operation->data + (start - operation->offset), (int)(pieceEnd - start));
        }
        start = pieceEnd;
    }
}

static int writeWholeFile(const char *path, const unsigned char *bytes, sqlite3_int64 size) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    sqlite3_int64 written = 0;
    while (written < size) {
        ssize_t count = write(fd, bytes + written, (size_t)(size - written));
        if (count < 0) {
            if (errno == EINTR) continue;
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        written += count;
    }
    return close(fd);
}

int powercut_vfs_write_image(const char *directory, PowerCutImageStatistics *statistics) {
    PowerCutImageStatistics counts = {0};
    int result = 0;
    pthread_mutex_lock(&state.lock);
    // Oldest first (the list is newest first), so that the draws do not depend on list order
    // quirks: walk into an array.
    int count = 0;
    for (TrackedFile *file = state.files; file; file = file->next) count++;
    TrackedFile **ordered = growOrDie(NULL, sizeof(TrackedFile *) * (size_t)(count ? count : 1));
    int index = count;
    for (TrackedFile *file = state.files; file; file = file->next) ordered[--index] = file;

    for (int i = 0; i < count && result == 0; i++) {
        TrackedFile *file = ordered[i];
        if (file->gone) continue;
        if (file->deletePending && drawKeep()) continue; // the unlink reached the disk
        if (!file->entryDurable && !drawKeep()) {
            counts.filesVanished += 1;
            continue;
        }
        sqlite3_int64 size = file->durableSize;
        sqlite3_int64 capacity = size > 0 ? size : 1;
        unsigned char *image = growOrDie(NULL, (size_t)capacity);
        if (size > 0) memcpy(image, file->durable, (size_t)size);
        for (int j = 0; j < file->pendingCount; j++) {
            const PendingOperation *operation = &file->pending[j];
            if (operation->isTruncate) {
                if (drawKeep()) resizeImage(&image, &size, &capacity, operation->offset);
            } else {
                applyUnsyncedWrite(operation, &image, &size, &capacity, &counts);
            }
        }
        const char *base = strrchr(file->path, '/');
        base = base ? base + 1 : file->path;
        size_t length = strlen(directory) + strlen(base) + 2;
        char *target = growOrDie(NULL, length);
        snprintf(target, length, "%s/%s", directory, base);
        if (writeWholeFile(target, image, size) != 0) {
            result = -1;
        } else {
            counts.filesWritten += 1;
        }
        free(target);
        free(image);
    }
    free(ordered);
    pthread_mutex_unlock(&state.lock);
    if (statistics) *statistics = counts;
    return result;
}
