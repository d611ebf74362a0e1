/// Switches that only test drivers set (the power-cut driver, `Chaos/powercut.sh`): the daemon
/// and the CLI never construct anything but the default, and none of them is a configuration
/// key. They are SPI (`@_spi(Testing)`), so that a driver in another package can reach them
/// while the relay's public API stays as it is.
@_spi(Testing) public struct OutboxTestHooks: Sendable {
    /// Open the outbox through this registered SQLite VFS (a crash-simulating one) instead of
    /// the platform's.
    public var vfs: String?
    /// SQL run right after the outbox's own PRAGMAs, e.g. `PRAGMA synchronous = OFF`, a mode
    /// users cannot choose but that the driver must show losing data.
    public var sqlAfterOpen: String?
    /// Deliberately wrong: release each group's acks before its COMMIT, so before the fsync.
    /// The power-cut driver turns it on to prove it catches a broken ack order.
    public var releasesAcksBeforeCommit: Bool
    /// Called with the state directory after the outbox fsynced it: that fsync does not pass
    /// through SQLite, so a crash-simulating VFS learns of it here.
    public var directorySynced: (@Sendable (String) -> Void)?

    public init(
        vfs: String? = nil, sqlAfterOpen: String? = nil, releasesAcksBeforeCommit: Bool = false,
        directorySynced: (@Sendable (String) -> Void)? = nil
    ) {
        self.vfs = vfs
        self.sqlAfterOpen = sqlAfterOpen
        self.releasesAcksBeforeCommit = releasesAcksBeforeCommit
        self.directorySynced = directorySynced
    }
}
