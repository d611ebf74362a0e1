import NIOCore
import Synchronization

/// The open connections of one listener, capped: admitted when accepted, forgotten when they
/// close, quiesced and closed at stop (``ConnectionDrain``).
///
/// One type for the socket and the HTTP ingest, so both keep the same connection cap and the
/// same promise at SIGTERM.
final class OpenConnections: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])
    /// At most this many connections are open at once; the next one is closed at accept.
    let limit: Int
    /// Called with the new count, under the lock, after each change (for a gauge).
    private let countChanged: @Sendable (Int) -> Void

    init(limit: Int, countChanged: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.limit = limit
        self.countChanged = countChanged
    }

    /// The number of open connections.
    var count: Int { channels.withLock { $0.count } }

    /// Admits `channel` if fewer than ``limit`` are open, and forgets it when it closes; false
    /// if it must be refused.
    func admit(_ channel: any Channel) -> Bool {
        let id = ObjectIdentifier(channel)
        let admitted = channels.withLock { channels -> Bool in
            guard channels.count < limit else { return false }
            channels[id] = channel
            countChanged(channels.count)
            return true
        }
        guard admitted else { return false }
        channel.closeFuture.whenComplete { _ in
            self.channels.withLock { channels in
                channels.removeValue(forKey: id)
                self.countChanged(channels.count)
            }
        }
        return true
    }

    /// Asks every open connection to answer what it has read and close, waits up to `timeout`,
    /// then closes what is left.
    func quiesceAndClose(timeout: TimeAmount) async {
        await ConnectionDrain.quiesceAndClose(
            open: { channels.withLock { Array($0.values) } }, openCount: { count }, timeout: timeout)
    }
}
