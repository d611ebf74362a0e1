import Dispatch
import NIOCore
import Synchronization

/// Asks an event loop to run a no-op and waits for the answer no longer than a deadline.
///
/// Why: the watchdog must stop pinging when the socket server's event loop is wedged, and the
/// health loop that decides so must keep running meanwhile (log, `STATUS=`, `STOPPING=1`).
/// Awaiting the loop's answer without a bound would wedge the health loop together with the
/// event loop. At most one probe is outstanding: while an earlier one is unanswered the loop is
/// still not responding, and no further tasks pile up on it.
final class EventLoopProbe: Sendable {
    private let eventLoop: any EventLoop
    /// A probe was submitted and the loop has not run it yet.
    private let outstanding = Mutex(false)

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Whether the loop ran a task within `deadline`; returns after `deadline` at the latest.
    func responds(within deadline: Duration) async -> Bool {
        await withCheckedContinuation { continuation in
            probe(within: deadline) { continuation.resume(returning: $0) }
        }
    }

    /// Calls `answer` once, from a Dispatch or event-loop thread: true when the loop ran a task
    /// within `deadline`, false at the deadline (or at once, while an earlier probe is still
    /// unanswered). The callback form lets the answer's timing be checked without Swift's
    /// shared executor in between.
    func probe(within deadline: Duration, answer: @escaping @Sendable (Bool) -> Void) {
        let submit = outstanding.withLock { outstanding -> Bool in
            if outstanding { return false }
            outstanding = true
            return true
        }
        guard submit else {
            answer(false)
            return
        }
        let race = FirstAnswer(answer)
        eventLoop.execute {
            self.outstanding.withLock { $0 = false }
            race.answer(true)
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + deadline.timeInterval) {
            race.answer(false)
        }
    }
}

/// Passes on whichever answer comes first, and ignores the other.
private final class FirstAnswer: Sendable {
    private let receiver: Mutex<(@Sendable (Bool) -> Void)?>

    init(_ receiver: @escaping @Sendable (Bool) -> Void) {
        self.receiver = Mutex(receiver)
    }

    func answer(_ value: Bool) {
        receiver.withLock { receiver -> (@Sendable (Bool) -> Void)? in
            defer { receiver = nil }
            return receiver
        }?(value)
    }
}
