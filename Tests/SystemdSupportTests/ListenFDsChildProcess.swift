import Glibc
import Testing

@testable import SystemdSupport

/// Runs `ListenFDs` in a child process that inherits a listening socket on fd 3, the way systemd
/// starts a socket-activated service.
///
/// The child is this test binary, re-executed through `/bin/sh -c 'LISTEN_PID=$$ … exec …'` so
/// that `LISTEN_PID` is the child's own PID (exec keeps the PID), with a filter that runs only
/// ``entryPoint()``. ``modeVariable`` switches that test on; in a normal run it is skipped.
enum ListenFDsChildProcess {
    static let modeVariable = "SYSTEMD_SUPPORT_TESTS_LISTEN_CHILD_MODE"
    static let reportVariable = "SYSTEMD_SUPPORT_TESTS_LISTEN_CHILD_REPORT"
    static let socketPathVariable = "SYSTEMD_SUPPORT_TESTS_LISTEN_CHILD_SOCKET"

    /// Starts the child with a listening socket on fd 3 and returns the lines of its report.
    static func run(mode: String, names: String?) throws -> [String] {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let socketPath = directory.appending("ingest.sock")
        let reportPath = directory.appending("report.txt")
        let logPath = directory.appending("child.log")

        // Keep the socket well above 3 so that the dup2 onto 3 below is a real copy (a dup2 of
        // a descriptor onto itself would leave its close-on-exec flag set).
        let listener = try makeListeningUnixSocket(path: socketPath)
        let highListener = fcntl(listener, F_DUPFD_CLOEXEC, 64)
        close(listener)
        try #require(highListener >= 64, "F_DUPFD_CLOEXEC failed: errno \(errno)")
        defer { close(highListener) }

        let executable = try currentExecutable()
        let script = "LISTEN_PID=$$; export LISTEN_PID; exec \"$0\" \"$@\""
        let arguments = [
            "/bin/sh", "-c", script, executable,
            "--testing-library", "swift-testing", "--filter", "ListenFDsChildProcess",
        ]

        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_adddup2(&fileActions, highListener, ListenFDs.firstDescriptor)
        posix_spawn_file_actions_addopen(&fileActions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&fileActions, 1, 2)

        let childEnvironment: [String: String?] = [
            "LISTEN_FDS": "1",
            "LISTEN_FDNAMES": names,
            "LISTEN_PID": nil,
            modeVariable: mode,
            reportVariable: reportPath,
            socketPathVariable: socketPath,
        ]
        var pid: pid_t = 0
        let spawnStatus = withEnvironment(childEnvironment) {
            withCStrings(arguments) { argv in
                posix_spawn(&pid, "/bin/sh", &fileActions, nil, argv, environ)
            }
        }
        try #require(spawnStatus == 0, "posix_spawn failed: errno \(spawnStatus)")

        let exitStatus = try waitForExit(pid, timeoutSeconds: 120)
        let log = readFile(logPath) ?? "(no output)"
        try #require(exitStatus == 0, "child exited with status \(exitStatus):\n\(log)")
        let report = try #require(readFile(reportPath), "child wrote no report:\n\(log)")
        return report.split(separator: "\n").map(String.init)
    }

    /// The test's half inside the child: take the descriptors and report what was seen.
    @Test(.enabled(if: getenv(modeVariable) != nil, "runs only inside the child process"))
    static func entryPoint() throws {
        let mode = try #require(environmentValue(modeVariable))
        let reportPath = try #require(environmentValue(reportVariable))
        let socketPath = try #require(environmentValue(socketPathVariable))

        let descriptors: [Int32]
        var lines: [String] = []
        if mode == "names" {
            let named = try ListenFDs.takeWithNames()
            descriptors = named.map(\.descriptor)
            lines.append("descriptors=" + named.map { "\($0.descriptor):\($0.name)" }.joined(separator: ","))
        } else {
            descriptors = try ListenFDs.take()
            lines.append("descriptors=" + descriptors.map(String.init).joined(separator: ","))
        }
        lines.append(
            "cloexec=" + descriptors.map { String(fcntl($0, F_GETFD) & FD_CLOEXEC != 0) }.joined(separator: ",")
        )
        lines.append(
            "listening_unix_stream="
                + descriptors.map { String(ListenFDs.isListeningUnixStreamSocket($0, path: socketPath)) }
                .joined(separator: ",")
        )
        lines.append(
            ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"]
                .map { "\($0)=\(environmentValue($0) ?? "(unset)")" }
                .joined(separator: " ")
        )
        lines.append("second_take=" + (try ListenFDs.take()).map(String.init).joined(separator: ","))

        let text = lines.joined(separator: "\n") + "\n"
        let file = try #require(fopen(reportPath, "w"))
        fputs(text, file)
        fclose(file)
    }

    private static func currentExecutable() throws -> String {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX))
        let count = buffer.withUnsafeMutableBytes { raw in
            readlink("/proc/self/exe", raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count)
        }
        try #require(count > 0, "readlink(/proc/self/exe) failed: errno \(errno)")
        return String(decoding: buffer.prefix(count), as: UTF8.self)
    }

    /// Waits for `pid`, killing it if it runs longer than the timeout; returns its exit status.
    private static func waitForExit(_ pid: pid_t, timeoutSeconds: Int) throws -> Int32 {
        var status: Int32 = 0
        for _ in 0..<(timeoutSeconds * 20) {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                // WIFEXITED / WEXITSTATUS are function-like macros that Swift does not import.
                let terminatingSignal = status & 0x7f
                return terminatingSignal == 0 ? (status >> 8) & 0xff : 128 + terminatingSignal
            }
            try #require(result == 0, "waitpid failed: errno \(errno)")
            usleep(50_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        Issue.record("child process did not finish within \(timeoutSeconds) s")
        return -1
    }

    private static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count == 0 { break }
            bytes += chunk.prefix(count)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Calls `body` with a NULL-terminated `char *argv[]` built from `strings`.
    private static func withCStrings<T>(
        _ strings: [String],
        _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> T
    ) -> T {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeMutableBufferPointer { body(UnsafePointer($0.baseAddress!)) }
    }
}
