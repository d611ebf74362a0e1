import Dispatch
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import MillimetricRelay

/// The watchdog's event-loop probe against a loop that is deliberately blocked.
///
/// Synchronous on purpose, through the probe's callback form: the answer's timing is read where
/// it is given, not after a task resumes on Swift's shared executor, which the integration tests'
/// blocking waits can keep busy for seconds (4.6 s under TSan, 9.9 s under ASan were seen).
@Suite struct EventLoopProbeTests {
    /// One probe, waited for with a bound of our own (15 s): a probe without a deadline would
    /// never answer, and the test must fail rather than hang with it. The answer and how long it
    /// took, or nil when none came.
    static func probe(_ probe: EventLoopProbe) -> (responds: Bool, took: Duration)? {
        let answer = Mutex<(Bool, Duration)?>(nil)
        let answered = DispatchSemaphore(value: 0)
        let start = ContinuousClock.now
        probe.probe(within: .seconds(1)) { responds in
            answer.withLock { $0 = (responds, ContinuousClock.now - start) }
            answered.signal()
        }
        _ = answered.wait(timeout: .now() + 15)
        return answer.withLock { $0 }.map { (responds: $0.0, took: $0.1) }
    }

    @Test func aBlockedLoopAnswersFalseWithinTheDeadlineAndTrueAgainOnceItTurns() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let probe = EventLoopProbe(eventLoop: group.next())
        #expect(Self.probe(probe)?.responds == true)

        // Wedge the loop, as a handler stuck in a system call would.
        let release = DispatchSemaphore(value: 0)
        let wedged = DispatchSemaphore(value: 0)
        group.next().execute {
            wedged.signal()
            release.wait()
        }
        wedged.wait()

        let first = Self.probe(probe)
        #expect(first != nil, "the probe did not answer within 15 s while the loop was blocked")
        #expect(first?.responds == false, "a blocked loop was reported as responding")
        #expect((first?.took ?? .seconds(99)) < .seconds(3), "the probe took \(first?.took ?? .zero) for a 1 s deadline")
        // Still wedged: the next probe says so at once, without queueing another task on it.
        let second = Self.probe(probe)
        #expect(second?.responds == false)
        #expect((second?.took ?? .seconds(99)) < .seconds(1))

        release.signal()
        // The loop turns again: the probe answers true again.
        var responds = false
        let until = ContinuousClock.now + .seconds(10)
        while !responds && ContinuousClock.now < until {
            responds = Self.probe(probe)?.responds ?? false
        }
        #expect(responds)
    }
}
