import Testing

@testable import SystemdSupport

/// Rendering of notification messages, without any socket.
@Suite
struct SystemdNotifierStateTests {
    @Test
    func eachStateRendersAsItsAssignment() {
        let now: UInt64 = 123_456_789
        #expect(SystemdNotifier.State.message(for: [.ready], monotonicMicroseconds: now) == "READY=1")
        #expect(SystemdNotifier.State.message(for: [.stopping], monotonicMicroseconds: now) == "STOPPING=1")
        #expect(SystemdNotifier.State.message(for: [.watchdog], monotonicMicroseconds: now) == "WATCHDOG=1")
        #expect(SystemdNotifier.State.message(for: [.status("ok")], monotonicMicroseconds: now) == "STATUS=ok")
        #expect(
            SystemdNotifier.State.message(for: [.reloading], monotonicMicroseconds: now)
                == "RELOADING=1\nMONOTONIC_USEC=123456789"
        )
        #expect(
            SystemdNotifier.State.message(for: [.extendTimeout(.milliseconds(1500))], monotonicMicroseconds: now)
                == "EXTEND_TIMEOUT_USEC=1500000"
        )
    }

    @Test
    func extendTimeoutRoundsDownToMicrosecondsAndNeverSaysInfinity() {
        #expect(SystemdNotifier.State.microseconds(.nanoseconds(1999)) == 1)
        #expect(SystemdNotifier.State.microseconds(.seconds(-3)) == 0)
        #expect(SystemdNotifier.State.microseconds(.seconds(Int64.max)) == UInt64.max - 1)
    }

    @Test
    func statusTextIsFlattenedToOneLine() {
        #expect(SystemdNotifier.State.singleLine("a\nb\rc\0d\u{2028}e") == "a b c d e")
        #expect(SystemdNotifier.State.singleLine("ünïcode stays") == "ünïcode stays")
    }

    @Test
    func thePingIntervalIsHalfTheWatchdogInterval() {
        #expect(WatchdogConfiguration(interval: .seconds(30)).pingInterval == .seconds(15))
        #expect(WatchdogConfiguration(interval: .milliseconds(3)).pingInterval == .microseconds(1500))
    }
}
