#if canImport(Glibc)
import Glibc
#endif

/// fsyncs the directory that holds the outbox, so that its entries survive a power cut.
///
/// Why: SQLite syncs the directory when it creates a WAL or a rollback journal, but never for a
/// new main database file, nor after it unlinks the rollback journal that a new outbox's first
/// transactions use. Until the directory is synced, POSIX lets a power cut lose the new
/// outbox.db (with every event acked into it) or bring back that journal, which SQLite would
/// then roll back over the WAL-mode database. The power-cut driver showed both
/// (`Chaos/powercut.sh --fresh-outbox`). One fsync per start, before the first ack.
enum StateDirectorySync {
    /// Best effort, as SQLite's own directory syncs: a file system that cannot fsync a
    /// directory offers nothing better to do.
    static func sync(directoryOf path: String) {
        let directory = directoryPath(of: path)
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    static func directoryPath(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
