import Dispatch
import Foundation
@_spi(Testing) import MillimetricRelay
import PowerCutVFS
import RelayTestKit

/// One client of the outbox, as the ingest connections are: it validates NDJSON lines with the
/// relay's validator and hands them to the writer, a few submissions in flight at once, so
/// that the writer's group commits gather several of them. Now and then it sends a forget, and
/// settles a run of acked rows as delivered, as the drainer does. It stops once the power is off.
struct Producer {
    /// Submissions waiting for their answer at once (an ingest connection pipelines its lines).
    static let inFlight = 4
    /// Users the events belong to: few, so that forgets purge rows.
    static let users = (0..<6).map { "user-\($0)" }
    static let receivedStamp = Array("2026-11-29T12:00:00.000Z".utf8)

    let name: String
    let writer: OutboxWriter
    let ledger: Ledger
    let submissions: Int
    var random: SplitMix64

    private var validator = EventValidator()
    private var counter = 0

    init(name: String, writer: OutboxWriter, ledger: Ledger, submissions: Int, seed: UInt64) {
        self.name = name
        self.writer = writer
        self.ledger = ledger
        self.submissions = submissions
        self.random = SplitMix64(seed: seed)
    }

    mutating func run() {
        let answers = DispatchSemaphore(value: Self.inFlight)
        for _ in 0..<submissions {
            if powercut_vfs_is_cut() != 0 { break }
            if random.next() % 5 == 0, let range = ledger.rangeToSettle(using: &random) {
                ledger.settling(range)
                answers.wait()
                writer.settleDelivered([range]) { _ in answers.signal() }
            }
            let events = nextEvents()
            ledger.submitting(events)
            answers.wait()
            let ledger = self.ledger
            writer.submit(events, receivedAt: Int64(Date().timeIntervalSince1970 * 1000)) { outcomes in
                ledger.acked(events, outcomes)
                answers.signal()
            }
        }
        // Every answer in; then the semaphore back to its initial value, which libdispatch
        // requires of a semaphore it disposes of.
        for _ in 0..<Self.inFlight { answers.wait() }
        for _ in 0..<Self.inFlight { answers.signal() }
    }

    /// A forget (one in sixteen submissions), or one to four track and identify lines.
    private mutating func nextEvents() -> [ValidatedEvent] {
        let user = Self.users[Int(random.next() % UInt64(Self.users.count))]
        if random.next() % 16 == 0 {
            return [validate(#"{"type":"forget","user_id":"\#(user)"}"#)]
        }
        return (0..<Int.random(in: 1...4, using: &random)).map { _ in
            counter += 1
            let user = Self.users[Int(random.next() % UInt64(Self.users.count))]
            if random.next() % 10 == 0 {
                return validate(#"{"type":"identify","anonymous_id":"anon-\#(counter)","user_id":"\#(user)","traits":{"n":\#(counter)}}"#)
            }
            // Bodies of 0.1 to 2 KB, so that rows span sectors and some span pages.
            let pad = String(repeating: "x", count: Int.random(in: 40...1_900, using: &random))
            return validate(#"{"type":"track","event":"powercut","event_id":"\#(name)-\#(counter)","user_id":"\#(user)","properties":{"n":\#(counter),"pad":"\#(pad)"}}"#)
        }
    }

    private mutating func validate(_ line: String) -> ValidatedEvent {
        var line = line
        let result = line.withUTF8 { validator.validate(UnsafeRawBufferPointer($0), receivedTimestamp: Self.receivedStamp) }
        switch result {
        case .success(let event): return event
        case .failure(let rejection): fatalError("the driver made an invalid line (\(rejection)): \(line)")
        }
    }
}
