@testable import MillimetricRelay
import Testing

/// `status`'s "drains in ~N min": queued events in batches of 500 at the relay's send rate.
@Suite struct DrainEstimateTests {
    @Test func sixBatchesAtHalfARequestASecondTakeTwelveSeconds() {
        #expect(OutboxStatus.drainSeconds(queuedEvents: 3_000, sendRate: 0.5) == 12)
    }

    @Test func aPartialBatchCountsAsOneRequest() {
        #expect(OutboxStatus.drainSeconds(queuedEvents: 1, sendRate: 5) == 1)
    }

    @Test func noRateNoEstimate() {
        #expect(OutboxStatus.drainSeconds(queuedEvents: 10, sendRate: 0) == nil)
    }
}
