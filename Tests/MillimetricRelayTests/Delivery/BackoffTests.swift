import MillimetricRelay
import RelayTestKit
import Testing

extension DeliveryDecisionTests {
    @Suite
    struct BackoffTests {
        @Test func defaultsAreHalfASecondDoublingToThirtySeconds() {
            let backoff = Backoff()

            #expect(backoff.base == .milliseconds(500))
            #expect(backoff.ceiling == .seconds(30))
            #expect(backoff.consecutiveFailures == 0)
        }

        @Test func windowDoublesPerConsecutiveFailureUpToTheCeiling() {
            let backoff = Backoff()

            let windows = (0..<9).map { backoff.window(afterFailures: $0) }

            #expect(
                windows == [
                    .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30),
                    .seconds(30), .seconds(30),
                ]
            )
        }

        @Test func windowNeverOverflowsHoweverManyFailures() {
            let backoff = Backoff()

            #expect(backoff.window(afterFailures: 1_000) == .seconds(30))
            #expect(backoff.window(afterFailures: .max) == .seconds(30))
            #expect(backoff.window(afterFailures: -3) == .milliseconds(500))
        }

        @Test func delayReachesTheWindowWhenTheGeneratorDrawsItsTop() {
            var backoff = Backoff()
            var top = ConstantRandomNumberGenerator(value: .max)

            let delays = (0..<9).map { _ in backoff.nextDelay(using: &top) }

            #expect(delays == (0..<9).map { backoff.window(afterFailures: $0) })
            #expect(delays.last == .seconds(30))
        }

        @Test func delaysNeverExceedTheirWindowOrTheCeiling() {
            var backoff = Backoff()
            var rng = SplitMix64(seed: 42)

            for failure in 0..<2_000 {
                let delay = backoff.nextDelay(using: &rng)
                #expect(delay >= .zero)
                #expect(delay <= backoff.window(afterFailures: failure))
                #expect(delay <= .seconds(30))
            }
            #expect(backoff.consecutiveFailures == 2_000)
        }

        @Test func jitterSpansTheWholeWindowAtTheCeiling() {
            var backoff = Backoff()
            var rng = SplitMix64(seed: 7)
            for _ in 0..<10 {
                _ = backoff.nextDelay(using: &rng)
            }

            let samples = (0..<4_000).map { _ in backoff.nextDelay(using: &rng) }
            let seconds = samples.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }

            #expect(seconds.min()! < 0.5)
            #expect(seconds.max()! > 29.5)
            let mean = seconds.reduce(0, +) / Double(seconds.count)
            #expect(abs(mean - 15) < 1)
            // Every sixth of the window gets its share: no clustering at either end.
            let buckets = Dictionary(grouping: seconds) { min(5, Int($0 / 5)) }.mapValues(\.count)
            for bucket in 0..<6 {
                #expect((500...830).contains(buckets[bucket, default: 0]))
            }
        }

        @Test func jitterOfTheFirstFailureStaysWithinTheBase() {
            var rng = SplitMix64(seed: 99)
            var largest = Duration.zero

            for _ in 0..<1_000 {
                var backoff = Backoff()
                let delay = backoff.nextDelay(using: &rng)
                #expect(delay <= .milliseconds(500))
                largest = max(largest, delay)
            }

            #expect(largest > .milliseconds(450))
        }

        @Test func resetStartsOverAtTheBase() {
            var backoff = Backoff()
            var top = ConstantRandomNumberGenerator(value: .max)
            for _ in 0..<5 {
                _ = backoff.nextDelay(using: &top)
            }

            backoff.reset()

            #expect(backoff.consecutiveFailures == 0)
            #expect(backoff.nextDelay(using: &top) == .milliseconds(500))
            #expect(backoff.nextDelay(using: &top) == .seconds(1))
        }

        @Test func baseAndCeilingAreConfigurable() {
            var backoff = Backoff(base: .seconds(1), ceiling: .seconds(5))
            var top = ConstantRandomNumberGenerator(value: .max)

            let delays = (0..<5).map { _ in backoff.nextDelay(using: &top) }

            #expect(delays == [.seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5)])
        }

        @Test func ceilingBelowTheBaseCapsEveryDelay() {
            var backoff = Backoff(base: .seconds(2), ceiling: .seconds(1))
            var top = ConstantRandomNumberGenerator(value: .max)

            #expect(backoff.nextDelay(using: &top) == .seconds(1))
            #expect(backoff.nextDelay(using: &top) == .seconds(1))
        }

        @Test func zeroBaseNeverWaits() {
            var backoff = Backoff(base: .zero, ceiling: .seconds(30))
            var top = ConstantRandomNumberGenerator(value: .max)

            for _ in 0..<10 {
                #expect(backoff.nextDelay(using: &top) == .zero)
            }
        }
    }
}
