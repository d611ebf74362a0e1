import Dispatch
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import MillimetricRelay

/// The watchdog's event-loop probe against a loop that is deliberately blocked.
@Suite struct EventLoopProbeTests {
    /// Runs one probe in a task and waits for its answer with a bound of our own (15 s): a probe
    /// without a deadline would hang, and the test must fail rather than hang with it. Returns
    /// the answer and how long it took, or nil when it did not come.
    ///
    /// How long it took includes resuming the task on Swift's shared executor, which the
    /// integration tests' blocking waits can keep busy for seconds (4.6 s seen under TSan); so
    /// the bound checked is "well before the give-up", not "1 s".
    static func probeWithinFifteenSeconds(_ probe: EventLoopProbe) async throws -> (responds: Bool, took: Duration)? {
        let answer = Mutex<(Bool, Duration)?>(nil)
        let start = ContinuousClock.now
        Task {
            let responds = await probe.responds(within: .seconds(1))
            answer.withLock { $0 = (responds, ContinuousClock.now - start) }
        }
        let giveUp = ContinuousClock.now + .seconds(15)
        while answer.withLock({ $0 }) == nil && ContinuousClock.now < giveUp {
            try await Task.sleep(for: .milliseconds(20))
        }
        return answer.withLock { $0 }.map { (responds: $0.0, took: $0.1) }
    }

    @Test func aBlockedLoopAnswersFalseWithinTheDeadlineAndTrueAgainOnceItTurns() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let probe = EventLoopProbe(eventLoop: group.next())
        #expect(await probe.responds(within: .seconds(1)))

        // Wedge the loop, as a handler stuck in a system call would.
        let release = DispatchSemaphore(value: 0)
        let wedged = DispatchSemaphore(value: 0)
        group.next().execute {
            wedged.signal()
            release.wait()
        }
        wedged.wait()

        let first = try await Self.probeWithinFifteenSeconds(probe)
        #expect(first != nil, "the probe did not return within 15 s while the loop was blocked")
        #expect(first?.responds == false, "a blocked loop was reported as responding")
        #expect((first?.took ?? .seconds(99)) < .seconds(10), "the probe took \(first?.took ?? .zero) for a 1 s deadline")
        // Still wedged: the next probe says so too, without waiting for the loop.
        let second = try await Self.probeWithinFifteenSeconds(probe)
        #expect(second?.responds == false)
        #expect((second?.took ?? .seconds(99)) < .seconds(10))

        release.signal()
        // The loop turns again: the probe answers true again.
        var responds = false
        let until = ContinuousClock.now + .seconds(10)
        while !responds && ContinuousClock.now < until {
            responds = await probe.responds(within: .seconds(1))
        }
        #expect(responds)
        try await group.shutdownGracefully()
    }
}
