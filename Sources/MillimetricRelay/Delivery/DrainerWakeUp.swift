import Synchronization

/// Tells the drainer that new rows were committed, without making the outbox writer wait.
///
/// The writer calls ``signal(_:)`` after each commit; the drainer awaits ``wait(after:timeout:)``
/// when it has caught up. At most one waiter (the drainer's loop).
final class DrainerWakeUp: Sendable {
    private struct State {
        var lastSeq: Int64 = 0
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    /// Records the newest committed sequence number and wakes the waiter.
    func signal(_ seq: Int64) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.lastSeq = max(state.lastSeq, seq)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Wakes all waiters without new rows (shutdown, SIGHUP).
    func poke() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    var lastSeq: Int64 { state.withLock { $0.lastSeq } }

    /// Returns once a row newer than `seq` was committed, after `poke()`, or after `timeout`.
    func wait(after seq: Int64, timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = self.state.withLock { state -> Bool in
                        if state.lastSeq > seq { return true }
                        state.waiter?.resume()
                        state.waiter = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.poke()
            }
            await group.next()
            group.cancelAll()
            // The first child to finish wakes the other one (poke), so both end promptly.
            self.poke()
        }
    }
}
