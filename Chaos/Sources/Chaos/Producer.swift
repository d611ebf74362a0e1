import Foundation
import MillimetricRelay
import Synchronization

/// One producer: streams its own events (`p<index>-<seq>`) to the relay through
/// ``IngestClient``, pipelined, and keeps account of which were acknowledged.
///
/// It behaves as SPEC §4 asks of a careful client: a line counts as stored only once its
/// `{"ok":true}` ack arrived. When the connection breaks (the daemon was killed), every line
/// written on it without an ack is resent on the next connection, after a short delay; so are
/// lines refused with a transient code (`shutting_down`, `outbox_full`, `internal_error`). A
/// line the relay committed whose ack was lost is therefore sent twice: the API then sees its
/// `event_id` twice, the only duplicates allowed.
final class Producer: Sendable {
    struct Totals: Sendable {
        var generated = 0
        var acked: [String] = []
        var resent = 0
        var connections = 0
        var connectFailures = 0
        var refusals: [String: Int] = [:]
        /// Acks that break the protocol (wrong order, an invalid_* code for a valid line…).
        var violations: [String] = []
        /// Generated ids still without an ack when the producer gave up.
        var unacked: [String] = []
    }

    let index: Int
    private let socketPath: String
    private let ratePerSecond: Double
    private let window: Int
    private let totals = Mutex(Totals())
    /// Lines written on the current connection and not yet acked: how busy ingest is now.
    private let inFlight = Atomic<Int>(0)

    init(index: Int, socketPath: String, ratePerSecond: Double, window: Int = 2_000) {
        self.index = index
        self.socketPath = socketPath
        self.ratePerSecond = ratePerSecond
        self.window = window
    }

    var snapshot: Totals { totals.withLock { $0 } }
    var linesAwaitingAck: Int { inFlight.load(ordering: .relaxed) }

    static func line(producer: Int, sequence: Int) -> [UInt8] {
        Array(#"{"event":"chaos","event_id":"p\#(producer)-\#(sequence)","user_id":"u\#(sequence % 50)","properties":{"producer":\#(producer),"seq":\#(sequence)}}"#.utf8) + [0x0A]
    }

    /// Produces new events until the control says stop, then keeps resending until every one
    /// is acked, or the control's give-up time passes. One connection per turn of the loop: a
    /// killed daemon ends it, and what it left unanswered is sent again on the next.
    func run(control: RunControl) {
        var pending: [Int] = []  // sequence numbers to send again, oldest first
        var pacer = Pacer(ratePerSecond: ratePerSecond)
        var generator = SystemRandomNumberGenerator()
        while true {
            if !control.producing && pending.isEmpty { break }
            if control.shouldGiveUp {
                totals.withLock { $0.unacked = pending.map { "p\(index)-\($0)" } }
                break
            }
            let client: IngestClient
            do {
                client = try IngestClient(path: socketPath)
            } catch {
                totals.withLock { $0.connectFailures += 1 }
                usleep(UInt32.random(in: 10_000...60_000, using: &generator))
                continue
            }
            totals.withLock { $0.connections += 1 }
            let link = Link()
            let readerDone = DispatchSemaphore(value: 0)
            Thread.detachNewThread { [self] in
                client.readLines { ack in self.handle(ack: ack, link: link) }
                link.close()
                readerDone.signal()
            }
            let brokeOff = !write(to: client, link: link, pending: &pending, pacer: &pacer, control: control)
            let unanswered = finish(client, link: link, readerDone: readerDone, brokeOff: brokeOff, pending: &pending)
            if brokeOff || unanswered > 0 {
                usleep(UInt32.random(in: 5_000...50_000, using: &generator))
            }
        }
    }

    /// New events at the producer's rate; after an outage it catches up by at most one
    /// second's worth.
    struct Pacer {
        let ratePerSecond: Double
        var nextSequence = 0
        private var start = ContinuousClock.now
        private var paced = 0

        init(ratePerSecond: Double) { self.ratePerSecond = ratePerSecond }

        /// The next at most 64 sequence numbers that may go now (empty: none yet).
        mutating func take() -> Range<Int> {
            let elapsed = (ContinuousClock.now - start) / .seconds(1)
            var allowed = Int(elapsed * ratePerSecond) - paced
            if allowed > Int(ratePerSecond) {
                start = ContinuousClock.now
                paced = 0
                allowed = Int(ratePerSecond)
            }
            guard allowed > 0 else { return nextSequence..<nextSequence }
            let taken = nextSequence..<(nextSequence + min(allowed, 64))
            nextSequence = taken.upperBound
            paced += taken.count
            return taken
        }
    }

    /// Writes lines on one connection, resent ones first, at most `window` ahead of their acks,
    /// until there is nothing more to produce (true: the write side was shut down cleanly) or
    /// the connection breaks (false; lines not yet written are back in `pending`).
    private func write(to client: IngestClient, link: Link, pending: inout [Int], pacer: inout Pacer, control: RunControl) -> Bool {
        while true {
            let batch: [Int]
            if !pending.isEmpty {
                batch = Array(pending.prefix(64))
                pending.removeFirst(batch.count)
                totals.withLock { $0.resent += batch.count }
            } else if control.producing {
                let taken = pacer.take()
                if taken.isEmpty {
                    if link.isClosed { return false }
                    usleep(2_000)
                    continue
                }
                batch = Array(taken)
                totals.withLock { $0.generated += taken.count }
            } else {
                client.finishWriting()
                return true
            }
            while link.count >= window && !link.isClosed { usleep(1_000) }
            guard link.enqueue(batch) else {
                pending.insert(contentsOf: batch, at: 0)
                return false
            }
            inFlight.add(batch.count, ordering: .relaxed)
            var bytes: [UInt8] = []
            for sequence in batch { bytes += Self.line(producer: index, sequence: sequence) }
            if !client.write(bytes) { return false }
        }
    }

    /// Waits for the connection's last acks (the daemon acks what it read and closes; a killed
    /// one closes at once) and puts what it left unanswered or refused at the head of
    /// `pending`; returns how many lines went unanswered.
    private func finish(_ client: IngestClient, link: Link, readerDone: DispatchSemaphore, brokeOff: Bool, pending: inout [Int]) -> Int {
        if brokeOff { shutdown(client.descriptor, Int32(SHUT_WR)) }
        if readerDone.wait(timeout: .now() + 120) == .timedOut {
            totals.withLock { $0.violations.append("no end of acks within 120 s on a connection") }
            shutdown(client.descriptor, Int32(SHUT_RDWR))
            readerDone.wait()
        }
        let (unanswered, refused) = link.leftovers()
        inFlight.subtract(unanswered.count, ordering: .relaxed)
        // Unanswered lines go first (they are older), then the refused ones, then the rest.
        pending = unanswered + refused + pending
        return unanswered.count
    }

    private func handle(ack: String, link: Link) {
        guard let sequence = link.popFront() else {
            totals.withLock { $0.violations.append("an ack for no line: \(ack)") }
            return
        }
        inFlight.subtract(1, ordering: .relaxed)
        let id = "p\(index)-\(sequence)"
        if ack == #"{"ok":true,"event_id":"\#(id)"}"# {
            totals.withLock { $0.acked.append(id) }
            return
        }
        let object = (try? JSONSerialization.jsonObject(with: Data(ack.utf8))) as? [String: Any]
        if object?["ok"] as? Bool == true {
            totals.withLock { $0.violations.append("expected the ack of \(id), got \(ack)") }
            return
        }
        let code = object?["error"] as? String ?? "?"
        switch code {
        case "shutting_down", "outbox_full", "internal_error":
            link.refused(sequence)
            totals.withLock { $0.refusals[code, default: 0] += 1 }
        default:
            totals.withLock { $0.violations.append("\(id) refused: \(ack)") }
        }
    }
}

/// The lines written on one connection and not yet answered, in order (acks come in the order
/// of the lines), shared by the writing and the reading thread.
final class Link: Sendable {
    private struct State {
        var unanswered: [Int] = []
        var head = 0
        var refused: [Int] = []
        var closed = false
    }

    private let state = Mutex(State())

    var count: Int { state.withLock { $0.unanswered.count - $0.head } }
    var isClosed: Bool { state.withLock { $0.closed } }

    /// Records lines about to be written; false once the connection is over.
    func enqueue(_ sequences: [Int]) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            state.unanswered += sequences
            return true
        }
    }

    func popFront() -> Int? {
        state.withLock { state in
            guard state.head < state.unanswered.count else { return nil }
            defer {
                state.head += 1
                if state.head > 4_096 {
                    state.unanswered.removeFirst(state.head)
                    state.head = 0
                }
            }
            return state.unanswered[state.head]
        }
    }

    func refused(_ sequence: Int) { state.withLock { $0.refused.append(sequence) } }

    func close() { state.withLock { $0.closed = true } }

    /// What this connection left to resend: lines without an answer, and refused lines.
    func leftovers() -> (unanswered: [Int], refused: [Int]) {
        state.withLock { state in
            state.closed = true
            return (Array(state.unanswered[state.head...]), state.refused)
        }
    }
}
