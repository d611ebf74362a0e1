import Foundation
import MillimetricRelay
import RelayTestKit
import SQLiteSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The integration tests' way to start the kit's ``RelayProcess``: the debug build next to the
/// test bundle, in a temp dir of its own (removed with the object), with a short flush interval
/// so that tests stay fast (a test may set `MILLIMETRIC_RELAY_FLUSH_INTERVAL` itself).
extension RelayProcess {
    /// Prepares (and by default starts) a relay pointed at `host`.
    convenience init(
        host: String = "http://127.0.0.1:9", key: String? = StandInProcess.secretKey, arguments: [String] = [],
        environment: [String: String] = [:], start: Bool = true
    ) throws {
        try self.init(
            executable: Self.executableURL().path, host: host, key: key, settings: ["flush_interval": "100ms"],
            arguments: arguments, environment: environment, start: start)
    }

    static func executableURL() throws -> URL {
        try TestExecutables.find(named: "millimetric-relay")
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
    static func runCLIProcess(
        _ path: String, _ arguments: [String], environment: [String: String] = ["PATH": "/usr/bin:/bin"],
        stdin: String? = nil
    ) throws -> (Int32, String) {
        try ChildProcess.run(path, arguments, environment: environment, stdin: stdin)
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
