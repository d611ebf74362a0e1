import MillimetricRelay
import Testing

extension DeliveryDecisionTests {
    @Suite
    struct TokenBucketTests {
        let start = ContinuousClock.now

        /// Duration from a Double rate carries rounding in the attoseconds; compare to 1 µs.
        func isClose(_ actual: Duration, _ expected: Duration) -> Bool {
            actual - expected < .microseconds(1) && expected - actual < .microseconds(1)
        }

        @Test func startsFullAndAllowsTheBurstAtOnce() {
            var bucket = TokenBucket(rate: 5, burst: 20)

            let waits = (0..<20).map { _ in bucket.take(now: start) }

            #expect(waits.allSatisfy { $0 == .zero })
            #expect(isClose(bucket.take(now: start), .milliseconds(200)))
            #expect(bucket.availableTokens(now: start) == 0)
        }

        @Test func afterTheBurstTokensComeAtTheRate() {
            var bucket = TokenBucket(rate: 4, burst: 2)
            #expect(bucket.take(now: start) == .zero)
            #expect(bucket.take(now: start) == .zero)

            #expect(bucket.take(now: start) == .milliseconds(250))
            #expect(bucket.take(now: start + .milliseconds(100)) == .milliseconds(150))
            #expect(bucket.take(now: start + .milliseconds(250)) == .zero)
            #expect(bucket.take(now: start + .milliseconds(250)) == .milliseconds(250))
            #expect(bucket.take(now: start + .milliseconds(500)) == .zero)
        }

        @Test func aRefusedTakeTakesNothing() {
            var bucket = TokenBucket(rate: 2, burst: 1)
            #expect(bucket.take(now: start) == .zero)

            for _ in 0..<10 {
                #expect(bucket.take(now: start) == .milliseconds(500))
            }

            #expect(bucket.take(now: start + .milliseconds(500)) == .zero)
        }

        @Test func neverHoldsMoreThanTheBurstAfterAnIdleHour() {
            var bucket = TokenBucket(rate: 5, burst: 20)
            _ = bucket.take(now: start)
            let later = start + .seconds(3600)

            #expect(bucket.availableTokens(now: later) == 20)
            for _ in 0..<20 {
                #expect(bucket.take(now: later) == .zero)
            }
            #expect(bucket.take(now: later) > .zero)
        }

        @Test func sustainedSendingMatchesTheRate() {
            var bucket = TokenBucket(rate: 50, burst: 200)
            var now = start
            var taken = 0

            while now < start + .seconds(10) {
                let wait = bucket.take(now: now)
                if wait == .zero {
                    taken += 1
                } else {
                    now += wait
                }
            }

            // The burst, then 50 a second for 10 seconds (the last one lands at exactly 10 s).
            #expect((699...701).contains(taken))
        }

        @Test func delayUntilAvailableDoesNotTake() {
            var bucket = TokenBucket(rate: 4, burst: 1)

            #expect(bucket.delayUntilAvailable(now: start) == .zero)
            #expect(bucket.availableTokens(now: start) == 1)
            #expect(bucket.take(now: start) == .zero)
            #expect(bucket.delayUntilAvailable(now: start) == .milliseconds(250))
            #expect(bucket.delayUntilAvailable(now: start) == .milliseconds(250))
            #expect(bucket.take(now: start + .milliseconds(250)) == .zero)
        }

        @Test func availableTokensCountsWholeTokens() {
            var bucket = TokenBucket(rate: 4, burst: 8)
            for _ in 0..<8 {
                _ = bucket.take(now: start)
            }

            #expect(bucket.availableTokens(now: start) == 0)
            #expect(bucket.availableTokens(now: start + .milliseconds(249)) == 0)
            #expect(bucket.availableTokens(now: start + .milliseconds(250)) == 1)
            #expect(bucket.availableTokens(now: start + .milliseconds(1000)) == 4)
            #expect(bucket.availableTokens(now: start + .seconds(100)) == 8)
        }

        @Test func drainEmptiesAFullBucket() {
            var bucket = TokenBucket(rate: 5, burst: 20)

            bucket.drain(now: start)

            #expect(bucket.availableTokens(now: start) == 0)
            #expect(isClose(bucket.take(now: start), .milliseconds(200)))
            #expect(bucket.take(now: start + .milliseconds(200)) == .zero)
            #expect(bucket.take(now: start + .milliseconds(200)) > .zero)
        }

        @Test func drainAtTheResumeInstantKeepsTheBucketEmptyThroughTheWait() {
            var bucket = TokenBucket(rate: 4, burst: 20)
            let resume = start + .seconds(10)

            bucket.drain(now: resume)

            #expect(bucket.take(now: start + .seconds(5)) == .seconds(5) + .milliseconds(250))
            #expect(bucket.take(now: resume) == .milliseconds(250))
            #expect(bucket.take(now: resume + .milliseconds(250)) == .zero)
            #expect(bucket.availableTokens(now: resume + .seconds(1)) == 3)
        }

        @Test func drainNeverGivesTokensBack() {
            var bucket = TokenBucket(rate: 4, burst: 20)
            bucket.drain(now: start + .seconds(10))

            bucket.drain(now: start)

            #expect(bucket.take(now: start) == .seconds(10) + .milliseconds(250))
        }

        @Test func theDefaultLimitsOfTheAPIAreRepresentedExactlyEnough() {
            let batch = TokenBucket(rate: 5, burst: 20)
            let track = TokenBucket(rate: 50, burst: 200)

            #expect(isClose(batch.interval, .milliseconds(200)))
            #expect(isClose(track.interval, .milliseconds(20)))
            #expect(batch.availableTokens(now: start) == 20)
            #expect(track.availableTokens(now: start) == 200)
        }

        @Test func fractionalRatesWork() {
            var bucket = TokenBucket(rate: 0.5, burst: 1)

            #expect(bucket.take(now: start) == .zero)
            #expect(bucket.take(now: start) == .seconds(2))
        }
    }
}
