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

        /// A convenience call and the one datagram it must send.
        struct Call: Sendable, CustomTestStringConvertible {
            var datagram: String
            var send: @Sendable (SystemdNotifier) throws -> Bool
            var testDescription: String { datagram.debugDescription }

            init(_ datagram: String, _ send: @escaping @Sendable (SystemdNotifier) throws -> Bool) {
                self.datagram = datagram
                self.send = send
            }
        }

        @Test(arguments: [
            Call("READY=1\nSTATUS=outbox open, 0 queued") { try $0.notifyReady(status: "outbox open, 0 queued") },
            Call("READY=1") { try $0.notifyReady() },
            Call("STATUS=12 queued; upstream ok") { try $0.notifyStatus("12 queued; upstream ok") },
            Call("WATCHDOG=1") { try $0.notifyWatchdog() },
            Call("STOPPING=1") { try $0.notifyStopping() },
            Call("STOPPING=1\nSTATUS=draining") { try $0.notifyStopping(status: "draining") },
            // A status with line breaks cannot inject another assignment.
            Call("STATUS=bad READY=1  x") { try $0.notifyStatus("bad\nREADY=1\r\nx") },
        ])
        func eachCallArrivesAsOneDatagram(_ call: Call) throws {
            try withNotifySocket { socket throws in
                #expect(try call.send(SystemdNotifier()))
                #expect(socket.receive() == call.datagram)
                #expect(!socket.hasPendingDatagram())
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
