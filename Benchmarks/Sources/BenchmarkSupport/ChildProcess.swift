import Foundation

/// One child process of a benchmark (the relay or the stand-in), with its output in files.
///
/// Started through Foundation's `Process`, registered in ``ChildRegistry`` by PID, and stopped
/// by that PID only: SIGTERM, a bounded wait, then SIGKILL.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked Sendable: `process` and `stdinPipe` are set in `init` and never replaced;
    // Foundation's `Process` may be queried and waited on from any thread.

    public let name: String
    public let executable: String
    public let stdoutPath: String
    public let stderrPath: String
    private let process: Process
    private let stdinPipe: Pipe?

    /// Starts `executable`. With `keepStdinOpen`, stdin is a pipe this process holds open until
    /// it exits, for children that exit when their stdin ends (`--exit-with-stdin`).
    public init(
        name: String, executable: String, arguments: [String], environment: [String: String],
        stdoutPath: String, stderrPath: String, keepStdinOpen: Bool = false
    ) throws(BenchmarkError) {
        self.name = name
        self.executable = executable
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        if stderrPath != stdoutPath { _ = FileManager.default.createFile(atPath: stderrPath, contents: nil) }
        guard let out = FileHandle(forWritingAtPath: stdoutPath), let err = FileHandle(forWritingAtPath: stderrPath)
        else {
            throw BenchmarkError("cannot open \(stdoutPath) or \(stderrPath) for the output of \(name)")
        }
        process.standardOutput = out
        process.standardError = err
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
            throw BenchmarkError("cannot start \(executable): \(error)")
        }
        try? out.close()
        try? err.close()
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

    /// SIGTERM, wait up to `timeout` seconds, then SIGKILL; returns the exit status (or the
    /// terminating signal for a killed process, as `Process` reports it).
    @discardableResult
    public func stop(timeout: Double = 30) -> Int32 {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = Monotonic.nanoseconds() + UInt64(timeout * 1e9)
            while process.isRunning && Monotonic.nanoseconds() < deadline { Monotonic.sleep(seconds: 0.005) }
            if process.isRunning {
                FileHandle.standardError.write(
                    Data("\(name) (pid \(pid)) did not stop within \(timeout) s; sending SIGKILL\n".utf8))
                kill(process.processIdentifier, SIGKILL)
            }
        }
        process.waitUntilExit()
        try? stdinPipe?.fileHandleForWriting.close()
        ChildRegistry.remove(pid: process.processIdentifier)
        return process.terminationStatus
    }

    /// What the child wrote to stderr so far.
    public var stderrText: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
    /// What the child wrote to stdout so far.
    public var stdoutText: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }

    /// The last `count` lines of stderr, for error messages.
    public func stderrTail(_ count: Int = 15) -> String {
        stderrText.split(separator: "\n", omittingEmptySubsequences: false).suffix(count).joined(separator: "\n")
    }
}
