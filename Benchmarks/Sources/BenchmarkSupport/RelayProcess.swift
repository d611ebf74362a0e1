import Foundation
import MillimetricRelay

/// A running `millimetric-relay run` (the release build) on a socket and state directory inside
/// the benchmark's temp dir.
///
/// Configuration goes through `MILLIMETRIC_RELAY_<KEY>` variables, as an operator would set it;
/// the environment is explicit, never the benchmark's own.
public final class RelayProcess: Sendable {
    /// The key every benchmark uses: a well-formed server key that the stand-in accepts.
    public static let key = "sk_local_bench_0000"

    public let child: ChildProcess
    public let socketPath: String
    public let stateDirectory: String
    /// The config keys set through the environment.
    public let settings: [String: String]
    public var databasePath: String { (stateDirectory as NSString).appendingPathComponent("outbox.sqlite") }

    /// Starts the relay and waits until its socket accepts connections.
    ///
    /// - Parameters:
    ///   - name: names the socket, the state directory and the log in `directory`.
    ///   - stateName: the state directory's name when it is not `name` (a restart on the same
    ///     outbox).
    ///   - host: the upstream base URL.
    ///   - settings: config keys and values, set as `MILLIMETRIC_RELAY_<KEY>`
    ///     (for example `["synchronous": "normal"]`).
    public init(
        executable: String, directory: TemporaryDirectory, name: String, stateName: String? = nil, host: String,
        settings: [String: String] = [:]
    ) throws(BenchmarkError) {
        socketPath = directory.file("\(name).sock")
        stateDirectory = try directory.subdirectory("\(stateName ?? name)-state")
        self.settings = settings
        var environment = ["PATH": "/usr/bin:/bin", "MILLIMETRIC_KEY": Self.key]
        for (key, value) in settings { environment["MILLIMETRIC_RELAY_\(key.uppercased())"] = value }
        let log = directory.file("\(name).log")
        child = try ChildProcess(
            name: name, executable: executable,
            arguments: ["run", "--socket", socketPath, "--state-dir", stateDirectory, "--host", host],
            environment: environment, stdoutPath: log, stderrPath: log)
        let deadline = Monotonic.nanoseconds() + 30_000_000_000
        while Monotonic.nanoseconds() < deadline {
            if !child.isRunning {
                let status = child.stop()
                throw BenchmarkError("the relay exited with status \(status) before listening:\n\(child.stderrTail())")
            }
            if (try? IngestClient(path: socketPath)) != nil { return }
            Monotonic.sleep(seconds: 0.01)
        }
        child.stop()
        throw BenchmarkError("the relay did not listen on \(socketPath) within 30 s:\n\(child.stderrTail())")
    }

    public var pid: Int32 { child.pid }

    /// Stops the relay with SIGTERM and reads the counters it logs when it stops.
    @discardableResult
    public func stop() throws(BenchmarkError) -> OutboxCounters? {
        let status = child.stop(timeout: 60)
        guard status == 0 else {
            throw BenchmarkError("the relay exited with status \(status) on SIGTERM:\n\(child.stderrTail())")
        }
        return OutboxCounters(log: child.stderrText)
    }

    /// Group commits and inserted rows since start, from the relay's `stopped` log line
    /// (`outbox.commits=N outbox.inserted=M`): M/N is its average transaction size.
    public struct OutboxCounters: Sendable, Equatable {
        public var commits: Int
        public var inserted: Int

        public var averageTransactionSize: Double { commits > 0 ? Double(inserted) / Double(commits) : 0 }

        /// Nil when the log has no such line (a relay built before the counters existed).
        public init?(log: String) {
            guard let line = log.split(separator: "\n").last(where: { $0.contains("outbox.commits=") }),
                let commits = Self.value("outbox.commits", in: line),
                let inserted = Self.value("outbox.inserted", in: line)
            else { return nil }
            self.commits = commits
            self.inserted = inserted
        }

        private static func value(_ key: String, in line: Substring) -> Int? {
            guard let range = line.range(of: key + "=") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
    }
}
