import Glibc
import Testing

@testable import SystemdSupport

extension ProcessStateTests {
    @Suite
    struct ListenFDsTests {
        private static let unsetListenVariables: [String: String?] = [
            "LISTEN_PID": nil, "LISTEN_FDS": nil, "LISTEN_FDNAMES": nil,
        ]

        @Test
        func withoutListenFdsThereAreNoDescriptors() throws {
            try withEnvironment(Self.unsetListenVariables) { () throws -> Void in
                #expect(try ListenFDs.take() == [])
                #expect(try ListenFDs.takeWithNames() == [])
            }
        }

        @Test
        func descriptorsForAnotherProcessAreIgnoredAndTheEnvironmentIsUnset() throws {
            let other = getpid() == 1 ? getppid() : 1
            try withEnvironment(["LISTEN_PID": "\(other)", "LISTEN_FDS": "1", "LISTEN_FDNAMES": "ingest"]) {
                () throws -> Void in
                #expect(try ListenFDs.take() == [])
                #expect(environmentValue("LISTEN_PID") == nil)
                #expect(environmentValue("LISTEN_FDS") == nil)
                #expect(environmentValue("LISTEN_FDNAMES") == nil)
            }
        }

        @Test(arguments: ["many", "0", "-1"])
        func aMalformedListenFdsForThisProcessThrows(value: String) throws {
            try withEnvironment(["LISTEN_PID": "\(getpid())", "LISTEN_FDS": value, "LISTEN_FDNAMES": nil]) {
                () throws -> Void in
                #expect {
                    try ListenFDs.take()
                } throws: { error in
                    guard let error = error as? SystemdError else { return false }
                    return error.code == .invalidListenEnvironment && error.message.contains("LISTEN_FDS=\(value)")
                }
                #expect(environmentValue("LISTEN_FDS") == nil)
            }
        }

        @Test
        func namesThatDoNotMatchTheDescriptorCountThrow() throws {
            // With LISTEN_PID for another process, libsystemd would answer 0 before comparing
            // the names; a mismatch is only reported for descriptors meant for this process.
            // Two names for one descriptor: fd 3 is only made close-on-exec, never used.
            try withEnvironment(["LISTEN_PID": "\(getpid())", "LISTEN_FDS": "1", "LISTEN_FDNAMES": "ingest:metrics"]) {
                () throws -> Void in
                let error = try #require(throws: SystemdError.self) { try ListenFDs.takeWithNames() }
                #expect(error.code == .invalidListenEnvironment)
            }
        }

        // fd 3 is the first inherited descriptor, but inside the test runner it already belongs
        // to the concurrency runtime (an epoll descriptor); swapping it out, even briefly, could
        // crash the runner. So these tests do what systemd does: start a child process (this test
        // binary, running only `ListenFDsChildProcess.entryPoint`) with the socket on fd 3,
        // LISTEN_FDS=1 and LISTEN_PID set to the child's own PID, and read back what it saw.

        @Test
        func aListeningSocketOnFdThreeIsReturnedAndTheEnvironmentIsUnset() throws {
            let report = try ListenFDsChildProcess.run(mode: "plain", names: nil)
            #expect(
                report == [
                    "descriptors=3",
                    "cloexec=true",
                    "listening_unix_stream=true",
                    "LISTEN_PID=(unset) LISTEN_FDS=(unset) LISTEN_FDNAMES=(unset)",
                    "second_take=",
                ]
            )
        }

        @Test
        func namedDescriptorsCarryTheirSocketUnitNames() throws {
            let report = try ListenFDsChildProcess.run(mode: "names", names: "ingest")
            #expect(
                report == [
                    "descriptors=3:ingest",
                    "cloexec=true",
                    "listening_unix_stream=true",
                    "LISTEN_PID=(unset) LISTEN_FDS=(unset) LISTEN_FDNAMES=(unset)",
                    "second_take=",
                ]
            )
        }

        @Test
        func descriptorsWithoutNamesAreCalledUnknown() throws {
            let report = try ListenFDsChildProcess.run(mode: "names", names: nil)
            #expect(report.first == "descriptors=3:unknown")
        }
    }
}
