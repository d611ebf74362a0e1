import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One child process of a test, benchmark or chaos run (the relay, the stand-in, a CLI call).
///
/// Started through Foundation's `Process`, registered in ``ChildRegistry`` by PID, and stopped
/// by that PID only: SIGTERM, a bounded wait, then SIGKILL (or SIGKILL at once, ``kill9()``).
public final class ChildProcess: @unchecked Sendable {
    // @unchecked Sendable: `process` and `stdinPipe` are set in `init` and never replaced;
    // Foundation's `Process` may be queried and waited on from any thread; the exit status is
    // behind a Mutex.

    /// Where the child's stdout or stderr goes.
    public enum Output: Sendable, Equatable {
        /// Appended to a file (created when missing), readable while the child runs.
        case file(String)
        /// This process's own stream.
        case inherit
        /// `/dev/null`.
        case discard
    }

    public let name: String
    public let executable: String
    public let stdout: Output
    public let stderr: Output
    private let process: Process
    private let stdinPipe: Pipe?
    private let exitStatus = Mutex<Int32?>(nil)

    /// Starts `executable`. `environment` nil inherits this process's. With `keepStdinOpen`,
    /// stdin is a pipe this process holds open until the child is stopped, for children that
    /// exit when their stdin ends (`--exit-with-stdin`); else stdin is `/dev/null`.
    public init(
        name: String, executable: String, arguments: [String], environment: [String: String]?,
        stdout: Output, stderr: Output, keepStdinOpen: Bool = false
    ) throws(TestKitError) {
        self.name = name
        self.executable = executable
        self.stdout = stdout
        self.stderr = stderr
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = try Self.handle(for: stdout)
        let err = stderr == stdout ? out : try Self.handle(for: stderr)
        if let out { process.standardOutput = out }
        if let err { process.standardError = err }
        if keepStdinOpen {
            let pipe = Pipe()
            process.standardInput = pipe
            stdinPipe = pipe
        } else {
            process.standardInput = FileHandle.nullDevice
            stdinPipe = nil
        }
        do {
            try process.run()
        } catch {
            throw TestKitError("cannot start \(executable): \(error)")
        }
        if case .file = stdout { try? out?.close() }
        if case .file = stderr, stderr != stdout { try? err?.close() }
        self.process = process
        ChildRegistry.add(pid: process.processIdentifier, name: name)
    }

    deinit {
        stop()
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    public func signal(_ signalNumber: Int32) {
        if process.isRunning { kill(process.processIdentifier, signalNumber) }
    }

    /// SIGTERM, wait up to `timeout`, then SIGKILL; returns the exit status (or the terminating
    /// signal for a killed process, as `Process` reports it). Calling it again returns the
    /// same status.
    @discardableResult
    public func stop(timeout: Duration = .seconds(30)) -> Int32 {
        finish {
            kill(process.processIdentifier, SIGTERM)
            let deadline = ContinuousClock.now + timeout
            while process.isRunning && ContinuousClock.now < deadline { usleep(5_000) }
            if process.isRunning {
                FileHandle.standardError.write(
                    Data("\(name) (pid \(pid)) did not stop within \(timeout); sending SIGKILL\n".utf8))
                kill(process.processIdentifier, SIGKILL)
            }
        }
    }

    /// SIGKILL: no chance to clean up. Returns once the process is gone.
    @discardableResult
    public func kill9() -> Int32 {
        finish { kill(process.processIdentifier, SIGKILL) }
    }

    /// Waits up to `timeout` for the child to exit by itself; its status, or nil (still running).
    public func waitForExit(timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { usleep(5_000) }
        return process.isRunning ? nil : finish {}
    }

    private func finish(ending: () -> Void) -> Int32 {
        exitStatus.withLock { status in
            if let status { return status }
            if process.isRunning { ending() }
            process.waitUntilExit()
            try? stdinPipe?.fileHandleForWriting.close()
            ChildRegistry.remove(pid: process.processIdentifier)
            status = process.terminationStatus
            return process.terminationStatus
        }
    }

    /// What the child wrote to stderr so far (empty unless it goes to a file).
    public var stderrText: String { Self.text(of: stderr) }
    /// What the child wrote to stdout so far (empty unless it goes to a file).
    public var stdoutText: String { Self.text(of: stdout) }

    /// The last `count` lines of stderr, for error messages.
    public func stderrTail(_ count: Int = 15) -> String {
        stderrText.split(separator: "\n", omittingEmptySubsequences: false).suffix(count).joined(separator: "\n")
    }

    /// Runs `executable` to its end, with `stdin` as its input; returns the exit status and
    /// stdout and stderr together (a CLI command, the stand-in's argument checks).
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = ["PATH": "/usr/bin:/bin"],
        stdin: String? = nil
    ) throws(TestKitError) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let input = Pipe()
        process.standardInput = input
        do {
            try process.run()
        } catch {
            throw TestKitError("cannot start \(executable): \(error)")
        }
        ChildRegistry.add(pid: process.processIdentifier, name: executable)
        defer { ChildRegistry.remove(pid: process.processIdentifier) }
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private static func handle(for output: Output) throws(TestKitError) -> FileHandle? {
        switch output {
        case .inherit:
            return nil
        case .discard:
            return FileHandle.nullDevice
        case .file(let path):
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil)
            }
            guard let handle = FileHandle(forWritingAtPath: path) else {
                throw TestKitError("cannot open \(path) for a child's output")
            }
            handle.seekToEndOfFile()
            return handle
        }
    }

    private static func text(of output: Output) -> String {
        guard case .file(let path) = output else { return "" }
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }
}
