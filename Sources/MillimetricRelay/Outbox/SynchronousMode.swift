/// How hard each commit pushes to stable storage (SQLite's `PRAGMA synchronous` in WAL mode).
public enum SynchronousMode: String, Sendable, CaseIterable {
    /// fsync the WAL on every commit: an acked event survives power loss. The default.
    case full
    /// fsync only at checkpoints: an acked event survives a crash of the process, but the last
    /// commits can be lost on power loss or a kernel panic. For those who trade that for speed.
    case normal
}
