import Testing

@testable import MillimetricRelay

/// The delivery rate `status` quotes for a backfill's drain time.
@Suite struct DeliveryRateMeterTests {
    @Test func theRateIsRecordedWhenATenSecondWindowCloses() {
        var meter = DeliveryRateMeter()
        // The first settlement opens the window; its rows were sent before it.
        #expect(meter.record(500, now: 1_000).isEmpty)
        #expect(meter.record(500, now: 5_000).isEmpty)
        #expect(meter.record(500, now: 9_000).isEmpty)
        let closed = meter.record(500, now: 11_000)
        #expect(closed.map(\.0) == [DeliveryRateMeter.rateKey, DeliveryRateMeter.measuredAtKey])
        #expect(closed.map(\.1) == [.integer(150), .integer(11_000)])
        // The next window starts where that one ended.
        #expect(meter.record(2_500, now: 16_000).isEmpty)
        #expect(meter.record(2_500, now: 21_000).map(\.1) == [.integer(500), .integer(21_000)])
    }
}
