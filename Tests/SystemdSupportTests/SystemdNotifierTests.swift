import Glibc
import Testing

@testable import SystemdSupport

extension ProcessStateTests {
    @Suite
    struct SystemdNotifierTests {
        /// Runs `body` with `NOTIFY_SOCKET` pointing at a fresh datagram socket.
        private func withNotifySocket(_ body: (NotifySocket) throws -> Void) throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let socket = try NotifySocket(path: directory.appending("notify.sock"))
            defer { socket.close() }
            try withEnvironment(["NOTIFY_SOCKET": socket.path]) { () throws -> Void in
                try body(socket)
            }
        }

        @Test
        func sendingWithoutNotifySocketDoesNothingAndReturnsFalse() throws {
            try withEnvironment(["NOTIFY_SOCKET": nil]) { () throws -> Void in
                let notifier = SystemdNotifier()
                #expect(!notifier.isEnabled)
                #expect(try notifier.notifyReady(status: "ready") == false)
                #expect(try notifier.notifyWatchdog() == false)
            }
        }

        @Test
        func isEnabledIsTrueWhenNotifySocketIsSet() throws {
            try withNotifySocket { _ throws in
                #expect(SystemdNotifier().isEnabled)
            }
        }

        @Test
        func readyWithStatusArrivesAsOneDatagram() throws {
            try withNotifySocket { socket throws in
                #expect(try SystemdNotifier().notifyReady(status: "outbox open, 0 queued") == true)
                #expect(socket.receive() == "READY=1\nSTATUS=outbox open, 0 queued")
            }
        }

        @Test
        func readyWithoutStatusSendsOnlyReady() throws {
            try withNotifySocket { socket throws in
                try SystemdNotifier().notifyReady()
                #expect(socket.receive() == "READY=1")
            }
        }

        @Test
        func statusSendsTheStatusLine() throws {
            try withNotifySocket { socket throws in
                try SystemdNotifier().notifyStatus("12 queued; upstream ok")
                #expect(socket.receive() == "STATUS=12 queued; upstream ok")
            }
        }

        @Test
        func watchdogSendsWatchdogEqualsOne() throws {
            try withNotifySocket { socket throws in
                try SystemdNotifier().notifyWatchdog()
                #expect(socket.receive() == "WATCHDOG=1")
            }
        }

        @Test
        func stoppingSendsStoppingWithOptionalStatus() throws {
            try withNotifySocket { socket throws in
                let notifier = SystemdNotifier()
                try notifier.notifyStopping()
                #expect(socket.receive() == "STOPPING=1")
                try notifier.notifyStopping(status: "draining")
                #expect(socket.receive() == "STOPPING=1\nSTATUS=draining")
            }
        }

        @Test
        func reloadingCarriesTheMonotonicClockInMicroseconds() throws {
            try withNotifySocket { socket throws in
                let before = SystemdNotifier.monotonicMicroseconds()
                try SystemdNotifier().notifyReloading(status: "reloading configuration")
                let after = SystemdNotifier.monotonicMicroseconds()

                let lines = try #require(socket.receive()).split(separator: "\n", omittingEmptySubsequences: false)
                try #require(lines.count == 3)
                #expect(lines[0] == "RELOADING=1")
                #expect(lines[2] == "STATUS=reloading configuration")
                let prefix = "MONOTONIC_USEC="
                #expect(lines[1].hasPrefix(prefix))
                let stamp = try #require(UInt64(lines[1].dropFirst(prefix.count)))
                #expect(before <= stamp && stamp <= after)
            }
        }

        @Test
        func severalStatesAreSentInTheGivenOrder() throws {
            try withNotifySocket { socket throws in
                try SystemdNotifier().send([.status("a"), .watchdog, .extendTimeout(.seconds(20)), .ready])
                #expect(socket.receive() == "STATUS=a\nWATCHDOG=1\nEXTEND_TIMEOUT_USEC=20000000\nREADY=1")
            }
        }

        @Test
        func aStatusWithLineBreaksCannotInjectAnotherAssignment() throws {
            try withNotifySocket { socket throws in
                try SystemdNotifier().notifyStatus("bad\nREADY=1\r\nx")
                #expect(socket.receive() == "STATUS=bad READY=1  x")
            }
        }

        @Test
        func sendingNoStatesSendsNothing() throws {
            try withNotifySocket { socket throws in
                #expect(try SystemdNotifier().send([]) == false)
                #expect(!socket.hasPendingDatagram())
            }
        }

        @Test
        func sendingLeavesNotifySocketSetForLaterNotifications() throws {
            try withNotifySocket { socket throws in
                let notifier = SystemdNotifier()
                try notifier.notifyReady()
                try notifier.notifyWatchdog()
                #expect(environmentValue("NOTIFY_SOCKET") == socket.path)
                #expect(socket.receive() == "READY=1")
                #expect(socket.receive() == "WATCHDOG=1")
            }
        }

        @Test
        func anUnreachableNotifySocketThrowsNotifyFailed() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let missing = directory.appending("nobody-listens.sock")
            try withEnvironment(["NOTIFY_SOCKET": missing]) { () throws -> Void in
                #expect {
                    try SystemdNotifier().notifyWatchdog()
                } throws: { error in
                    guard let error = error as? SystemdError else { return false }
                    return error.code == .notifyFailed && error.errno == ENOENT
                        && error.description.contains(missing)
                }
            }
        }
    }
}
