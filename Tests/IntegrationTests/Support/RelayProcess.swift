import Foundation
import MillimetricRelay
import SQLiteSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A real `millimetric-relay run` process, started for one test, on a socket and state
/// directory in a temp dir.
///
/// The environment is explicit (never the test runner's), so a `NOTIFY_SOCKET` or key set by
/// another test cannot leak in. ``kill9()`` and ``restart()`` keep the state directory, which is
/// how the durability tests crash and recover the daemon.
final class RelayProcess: @unchecked Sendable {
    // @unchecked Sendable: `process` and `output` change only in start/restart, which tests call
    // from one task; the rest is immutable.

    let directory: URL
    var socketPath: String { directory.appendingPathComponent("ingest.sock").path }
    var stateDirectory: String { directory.appendingPathComponent("state").path }
    var databasePath: String { directory.appendingPathComponent("state/outbox.sqlite").path }
    var outputPath: String { directory.appendingPathComponent("relay-\(generation).log").path }

    private(set) var process: Process?
    private(set) var generation = 0
    var arguments: [String]
    var environment: [String: String]

    /// Prepares (and by default starts) a relay pointed at `host`.
    init(host: String = "http://127.0.0.1:9", key: String? = StandInProcess.secretKey, arguments: [String] = [],
         environment: [String: String] = [:], start: Bool = true) throws {
        // Short: a Unix socket path must stay under 108 bytes.
        let template = "/tmp/mmr-XXXXXX"
        var buffer = Array(template.utf8CString)
        guard mkdtemp(&buffer) != nil else { throw RelayFailure("mkdtemp failed") }
        directory = URL(fileURLWithPath: String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        self.arguments = arguments
        var env: [String: String] = [
            "PATH": "/usr/bin:/bin", "MILLIMETRIC_HOST": host,
            // Fast tests: short flush interval and backoff ceiling stay configurable by the test.
            "MILLIMETRIC_RELAY_FLUSH_INTERVAL": "100ms",
        ]
        if let key { env["MILLIMETRIC_KEY"] = key }
        env.merge(environment) { $1 }
        self.environment = env
        if start { try self.start() }
    }

    deinit {
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    static func executableURL() throws -> URL {
        try TestExecutables.find(named: "millimetric-relay")
    }

    /// Starts the daemon and waits until its socket accepts connections (or it exits).
    func start(waitForSocket: Bool = true) throws {
        generation += 1
        let process = Process()
        process.executableURL = try Self.executableURL()
        process.arguments = ["run", "--socket", socketPath, "--state-dir", stateDirectory] + arguments
        process.environment = environment
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let log = FileHandle(forWritingAtPath: outputPath)!
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? log.close()
        self.process = process
        guard waitForSocket else { return }
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if !process.isRunning {
                throw RelayFailure("the relay exited with \(process.terminationStatus) before listening:\n\(output(ofGeneration: generation))")
            }
            if (try? IngestClient(path: socketPath)) != nil { return }
            usleep(10_000)
        }
        throw RelayFailure("the relay did not listen within 20 s:\n\(output(ofGeneration: generation))")
    }

    /// Runs the daemon to its exit (for start-up failures) and returns the status and output.
    func runToExit(timeout: Duration = .seconds(20)) throws -> (status: Int32, output: String) {
        try start(waitForSocket: false)
        let deadline = ContinuousClock.now + timeout
        while process!.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
        if process!.isRunning {
            kill(process!.processIdentifier, SIGKILL)
            process!.waitUntilExit()
            throw RelayFailure("the relay did not exit within \(timeout)")
        }
        return (process!.terminationStatus, output(ofGeneration: generation))
    }

    /// Everything the daemon printed so far, across restarts.
    var allOutput: String { (1...max(1, generation)).map { output(ofGeneration: $0) }.joined(separator: "\n") }

    func output(ofGeneration generation: Int) -> String {
        let path = directory.appendingPathComponent("relay-\(generation).log").path
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    /// SIGKILL: no chance to clean up.
    func kill9() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM and wait; returns the exit status.
    @discardableResult
    func terminate(timeout: Duration = .seconds(20)) -> Int32 {
        guard let process else { return -1 }
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = ContinuousClock.now + timeout
            while process.isRunning && ContinuousClock.now < deadline { usleep(5_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func signal(_ signal: Int32) {
        if let process, process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Sends `lines` on one connection, pipelined, and returns the ack lines.
    func send(_ lines: [String], halfClose: Bool = true) throws -> [String] {
        try RelayConnection(path: socketPath).exchange(lines.map { Array($0.utf8) + [0x0A] }.flatMap { $0 }, halfClose: halfClose)
    }

    /// `millimetric-relay status --json` as a dictionary.
    func status() throws -> [String: Any] {
        let (code, output) = try runCLI(["status", "--json", "--state-dir", stateDirectory])
        guard code == 0, let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] else {
            throw RelayFailure("status failed (\(code)): \(output)")
        }
        return object
    }

    /// Runs a CLI command with the relay's environment; returns exit status and stdout+stderr.
    func runCLI(_ arguments: [String], stdin: String? = nil) throws -> (Int32, String) {
        try Self.runCLI(arguments, environment: environment, stdin: stdin)
    }

    static func runCLI(_ arguments: [String], environment: [String: String], stdin: String? = nil) throws -> (Int32, String) {
        try runCLIProcess(try executableURL().path, arguments, environment: environment, stdin: stdin)
    }

    /// Runs any program to its end; returns exit status and stdout+stderr.
    static func runCLIProcess(_ path: String, _ arguments: [String], environment: [String: String] = ["PATH": "/usr/bin:/bin"], stdin: String? = nil) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Event ids in the outbox's queue, with how often each occurs.
    func queuedEventIDs() throws -> [String: Int] {
        let connection = try SQLiteConnection(path: databasePath, mode: .readOnly)
        defer { try? connection.close() }
        let statement = try connection.prepare("SELECT event_id FROM events")
        var counts: [String: Int] = [:]
        while try statement.step() { counts[statement.text(at: 0) ?? "", default: 0] += 1 }
        return counts
    }

    /// Polls `condition` until it holds or `timeout` passes.
    static func eventually(timeout: Duration = .seconds(30), _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }
}

/// One raw connection to the relay's socket: writes bytes pipelined while a thread reads acks.
final class RelayConnection: Sendable {
    let client: IngestClient

    init(path: String) throws {
        client = try IngestClient(path: path)
    }

    /// Writes `bytes`, optionally half-closes, and returns every ack line until the daemon
    /// closes the connection (or, without half-close, until `expectedAcks` arrived).
    func exchange(_ bytes: [UInt8], halfClose: Bool = true, expectedAcks: Int? = nil) throws -> [String] {
        let acks = Mutex<[String]>([])
        let done = DispatchSemaphore(value: 0)
        let client = self.client
        Thread.detachNewThread {
            client.readLines { line in acks.withLock { $0.append(line) } }
            done.signal()
        }
        client.write(bytes)
        if halfClose { client.finishWriting() }
        if let expectedAcks {
            let deadline = ContinuousClock.now + .seconds(30)
            while acks.withLock({ $0.count }) < expectedAcks && ContinuousClock.now < deadline { usleep(2_000) }
            shutdown(client.descriptor, Int32(SHUT_RDWR))
        }
        guard done.wait(timeout: .now() + 60) == .success else { throw RelayFailure("no end of acks within 60 s") }
        return acks.withLock { $0 }
    }
}

struct RelayFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
