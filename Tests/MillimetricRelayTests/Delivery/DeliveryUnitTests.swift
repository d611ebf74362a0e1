import Testing

@testable import MillimetricRelay

/// A unit sent keeps its request body, not its rows' copies of it (issue #11), and still
/// splits, filters and dead-letters as before.
@Suite struct DeliveryUnitTests {
    static func row(_ seq: Int64, kind: EventKind = .track) -> QueuedRow {
        QueuedRow(
            seq: seq, kind: kind, eventID: "id-\(seq)", userID: "user-\(seq)",
            body: Array(#"{"event":"e\#(seq)","event_id":"id-\#(seq)"}"#.utf8), receivedAt: 1_000)
    }

    static let rows = (1...5).map { row(Int64($0)) }

    @Test func anEncodedBatchHoldsItsBodyOnceAndItsRowsNone() {
        var unit = DeliveryUnit(Self.rows[...])
        let body = unit.encode()
        #expect(body == BatchBody.assemble(Self.rows[...]))
        #expect(unit.isEncoded)
        #expect(unit.rows.allSatisfy { $0.body.isEmpty && $0.userID == nil })
        // What settling and a dead letter read is still there.
        #expect(unit.rows.map(\.seq) == [1, 2, 3, 4, 5])
        #expect(unit.rows.map(\.eventID) == Self.rows.map(\.eventID))
        #expect(unit.seqRanges == [1...5] && unit.request == .batch(eventCount: 5))
        #expect(unit.encode() == body && unit.body == body)
    }

    @Test func anEncodedBatchSplitsIntoTheHalvesOfItsRows() {
        var unit = DeliveryUnit(Self.rows[...])
        _ = unit.encode()
        let (left, right) = unit.split()
        #expect(left.body == BatchBody.assemble(Self.rows[0..<2]))
        #expect(right.body == BatchBody.assemble(Self.rows[2...]))
        #expect(left.rows.map(\.seq) == [1, 2] && right.rows.map(\.seq) == [3, 4, 5])
    }

    @Test func anEncodedBatchThatLostRowsToAForgetSendsOnlyTheOthers() {
        var unit = DeliveryUnit(Self.rows[...])
        let body = unit.encode()
        #expect(unit.keeping([1, 2, 3, 4, 5])?.body == body)
        let kept = unit.keeping([2, 5])
        #expect(kept?.body == BatchBody.assemble([Self.rows[1], Self.rows[4]][...]))
        #expect(kept?.rows.map(\.seq) == [2, 5])
        #expect(unit.keeping([]) == nil)
    }

    @Test func anEncodedIdentifyIsItsRowsBody() {
        let identify = Self.row(7, kind: .identify)
        var unit = DeliveryUnit([identify][...])
        #expect(unit.encode() == identify.body)
        #expect(unit.rows.first?.body.isEmpty == true && unit.rows.first?.eventID == "id-7")
        #expect(unit.keeping([7])?.body == identify.body)
    }
}
