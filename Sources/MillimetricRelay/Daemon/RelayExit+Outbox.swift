extension RelayExit {
    /// The exit for an outbox that cannot be opened at start, with a message that says what
    /// happened. Never 75: the daemon holds the state directory's lock by then, so no other relay
    /// can be the cause.
    init(outboxOpenFailure error: OutboxError, path: String) {
        switch error {
        case .corruptOrForeign, .newerSchema:
            self.init(.configuration, error.description)
        case .sqlite(let sqlite) where sqlite.isCannotOpen || sqlite.isReadOnly:
            self.init(.cannotCreate, "cannot create or write the outbox \(path): \(sqlite); check that the state directory is writable by this user, is not on a read-only filesystem, and that nothing else is in the way of outbox.sqlite")
        case .sqlite(let sqlite) where sqlite.isBusy:
            self.init(.ioError, "the outbox \(path) is locked by another program (\(sqlite)): not a relay (this one holds the state directory's lock), but something like an sqlite3 shell or a script with a transaction open; close it and start again")
        case .sqlite(let sqlite) where sqlite.isFull:
            self.init(.ioError, "the disk holding the outbox \(path) is full (\(sqlite)); free some space and start again")
        case .sqlite(let sqlite):
            self.init(.ioError, "cannot open the outbox \(path): \(sqlite)")
        case .closed:
            self.init(.ioError, "cannot open the outbox \(path): \(error)")
        }
    }
}
