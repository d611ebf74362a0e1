import Synchronization

/// Lines read but not yet acked, counted across all producer connections, so that one busy
/// connection alone may read far ahead while many busy connections together stay bounded.
///
/// A per-connection cap had to choose: 2,048 lines kept one pipelining client at full speed
/// but let four of them hold 8,192 validated events (the largest part of the peak heap); 384
/// bounded the four but cost one client a third of its throughput (issue #11). With a shared
/// budget, a connection may read while it holds fewer lines than its guaranteed share (so none
/// starves, however many others read) or while the connections together hold fewer than the
/// budget. A connection refused for want of budget leaves a waiter, called once when any
/// connection gives lines back, so it resumes as soon as there is room, not only when its own
/// lines are acked.
///
/// The budget is checked before a read, not per line: one read past it (at most a read
/// cycle's bytes of lines) is possible per connection, as with the per-connection cap.
final class UnackedLineBudget: Sendable {
    /// Called once, on the thread giving lines back, when a refused connection may try again.
    typealias Waiter = @Sendable () -> Void

    /// Lines all connections together may hold beyond their guaranteed shares.
    let total: Int

    private struct State {
        var inUse = 0
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiterID: UInt64 = 0
    }

    private let state = Mutex(State())

    init(total: Int) {
        self.total = total
    }

    /// Lines held by all connections now.
    var linesInUse: Int { state.withLock { $0.inUse } }

    /// Connections waiting for room.
    var waiterCount: Int { state.withLock { $0.waiters.count } }

    /// A key for one connection's waiter.
    func makeWaiterID() -> UInt64 {
        state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
    }

    /// Whether a connection holding `held` lines, of which `guaranteed` are its own share, may
    /// read more. If not, `wake` is kept under `id` (replacing an earlier one) and called once
    /// when lines are given back while there is room; the check and the registration are one
    /// step, so a give-back between them cannot be missed.
    func mayRead(holding held: Int, guaranteed: Int, waiter id: UInt64, wake: @escaping Waiter) -> Bool {
        if held < guaranteed { return true }
        return state.withLock { state in
            if state.inUse < total { return true }
            state.waiters[id] = wake
            return false
        }
    }

    /// Counts lines a connection read.
    func take(_ lines: Int) {
        guard lines > 0 else { return }
        state.withLock { $0.inUse += lines }
    }

    /// Returns lines acked (or of a connection that closed) and wakes every waiting connection
    /// if that made room; each checks again and waits again if another took the room first.
    func giveBack(_ lines: Int) {
        guard lines > 0 else { return }
        let woken: [Waiter] = state.withLock { state in
            state.inUse -= lines
            guard state.inUse < total, !state.waiters.isEmpty else { return [] }
            defer { state.waiters.removeAll(keepingCapacity: true) }
            return Array(state.waiters.values)
        }
        for wake in woken { wake() }
    }

    /// Drops a connection's waiter (it closed, or resumed for another reason).
    func forgetWaiter(_ id: UInt64) {
        state.withLock { _ = $0.waiters.removeValue(forKey: id) }
    }
}
