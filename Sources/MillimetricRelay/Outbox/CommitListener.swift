import Synchronization

/// Forwards the outbox writer's "rows committed" signal to whoever listens (the drainer),
/// which is created after the writer.
final class CommitListener: Sendable {
    private let listener = Mutex<(@Sendable (Int64) -> Void)?>(nil)

    func setListener(_ body: @escaping @Sendable (Int64) -> Void) {
        listener.withLock { $0 = body }
    }

    func committed(_ seq: Int64) {
        listener.withLock { $0 }?(seq)
    }
}
