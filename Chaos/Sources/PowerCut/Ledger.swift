import MillimetricRelay
import RelayTestKit
import Synchronization

/// What the load did in one cycle, as the producers saw it: every event handed to the outbox,
/// which of them were acked (and with which seq), the forgets and the delivered ranges. The
/// image is judged against it. Written from the producers' threads and the writer's.
final class Ledger: Sendable {
    struct Submitted: Sendable {
        var kind: EventKind
        var userID: String?
        var body: [UInt8]
    }

    struct Forget: Sendable {
        var userID: String
        var eventID: String
    }

    private struct State {
        var submitted: [String: Submitted] = [:]
        var acked: [String: Int64] = [:]
        var ackedSeqs: [Int64] = []
        var forgets: [Forget] = []
        var settled: [ClosedRange<Int64>] = []
    }

    private let state = Mutex(State())

    /// Called before the events go to the outbox.
    func submitting(_ events: [ValidatedEvent]) {
        state.withLock { state in
            for event in events {
                state.submitted[event.eventID] = Submitted(kind: event.kind, userID: event.userID, body: event.body)
                if event.kind == .forget, let userID = event.userID {
                    state.forgets.append(Forget(userID: userID, eventID: event.eventID))
                }
            }
        }
    }

    /// Called when the outbox released the acks: what a client would now believe is on disk.
    func acked(_ events: [ValidatedEvent], _ outcomes: [OutboxWriter.Outcome]) {
        state.withLock { state in
            for (event, outcome) in zip(events, outcomes) {
                if case .stored(let seq, _) = outcome {
                    state.acked[event.eventID] = seq
                    state.ackedSeqs.append(seq)
                }
            }
        }
    }

    /// Called before a settlement of delivered rows goes to the outbox.
    func settling(_ range: ClosedRange<Int64>) {
        state.withLock { $0.settled.append(range) }
    }

    /// A delivered range to settle: a run of acked seqs, as the drainer settles a batch.
    func rangeToSettle(using random: inout SplitMix64) -> ClosedRange<Int64>? {
        state.withLock { state -> ClosedRange<Int64>? in
            guard let highest = state.ackedSeqs.max(), !state.ackedSeqs.isEmpty else { return nil }
            let low = state.ackedSeqs[Int.random(in: 0..<state.ackedSeqs.count, using: &random)]
            return low...min(highest, low + Int64.random(in: 0...12, using: &random))
        }
    }

    var ackedCount: Int { state.withLock { $0.acked.count } }

    /// Judges the rows found in the image.
    func judge(_ rows: [ImageRow]) -> Verdict {
        state.withLock { state in
            var verdict = Verdict()
            var rowsByEventID: [String: ImageRow] = [:]
            for row in rows {
                rowsByEventID[row.eventID] = row
                guard let submitted = state.submitted[row.eventID] else {
                    verdict.corrupt += 1
                    verdict.notes.append("row seq \(row.seq) has event_id \(row.eventID), which was never submitted")
                    continue
                }
                if row.body != submitted.body || row.kind != submitted.kind.rawValue || row.userID != submitted.userID {
                    verdict.corrupt += 1
                    verdict.notes.append("row \(row.eventID) (seq \(row.seq)) differs from what was submitted")
                } else if let seq = state.acked[row.eventID], seq != row.seq {
                    verdict.corrupt += 1
                    verdict.notes.append("row \(row.eventID) has seq \(row.seq), acked as \(seq)")
                }
            }
            let forgetSeqs = state.forgets.map { (forget: $0, seq: state.acked[$0.eventID]) }
            for (eventID, seq) in state.acked {
                guard let submitted = state.submitted[eventID] else { continue }
                // Delivered and settled: gone legitimately (or back, if the settlement was lost:
                // a duplicate delivery, which at-least-once allows).
                if state.settled.contains(where: { $0.contains(seq) }) { continue }
                // A forget of the user that may have committed after it purges it legitimately.
                if submitted.kind != .forget, let userID = submitted.userID,
                    forgetSeqs.contains(where: { $0.forget.userID == userID && ($0.seq ?? .max) > seq })
                {
                    continue
                }
                if rowsByEventID[eventID] == nil {
                    verdict.lost += 1
                    if verdict.notes.count < 20 { verdict.notes.append("acked \(submitted.kind) \(eventID) (seq \(seq)) is missing") }
                }
            }
            // An acked forget purged every earlier track and identify row of its user: none may
            // come back.
            for case (let forget, let seq?) in forgetSeqs {
                for row in rows where row.userID == forget.userID && row.seq < seq && row.kind != EventKind.forget.rawValue {
                    verdict.resurrected += 1
                    if verdict.notes.count < 20 { verdict.notes.append("row \(row.eventID) (seq \(row.seq)) of \(forget.userID) is back after the acked forget at seq \(seq)") }
                }
            }
            return verdict
        }
    }
}

/// What one image showed.
struct Verdict: Sendable {
    var lost = 0
    var corrupt = 0
    var resurrected = 0
    var notes: [String] = []
}
