import Foundation
import MillimetricRelay
import Synchronization

/// A real `millimetric-relay run` as a child process, on a socket and state directory in a
/// temp dir: for the integration tests, the benchmarks and the chaos run.
///
/// Configuration goes through the environment, as an operator would set it, and the
/// environment is explicit (never this process's own), so a `NOTIFY_SOCKET` or a key set
/// elsewhere cannot leak in. ``kill9()`` and ``start(waitForSocket:timeout:)`` keep the state
/// directory, which is how the durability tests and the chaos run crash and recover the daemon;
/// each start writes its output to a log of its own (``output(ofGeneration:)``).
public final class RelayProcess: @unchecked Sendable {
    // @unchecked Sendable: `arguments` and `environment` are set before `start`, from one
    // thread; the running child and the generation count are behind a Mutex.

    public let executable: String
    /// The directory of the socket, the state directory and the logs.
    public let directory: URL
    public let name: String
    public let socketPath: String
    public let stateDirectory: String
    public var databasePath: String { (stateDirectory as NSString).appendingPathComponent("outbox.sqlite") }
    public var lockPath: String { (stateDirectory as NSString).appendingPathComponent("relay.lock") }
    /// Extra arguments after `run --socket … --state-dir …`.
    public var arguments: [String]
    public var environment: [String: String]
    private let current = Mutex<(child: ChildProcess?, generation: Int)>((nil, 0))
    private let ownsDirectory: Bool

    /// Prepares (and by default starts) a relay pointed at `host`.
    ///
    /// - Parameters:
    ///   - directory: where its files go; by default a new temp dir, removed when this object goes.
    ///   - name: names the socket (`NAME.sock`), the state directory and the logs (`NAME-N.log`).
    ///   - stateName: the state directory is `STATENAME-state` (a restart on another's outbox).
    ///   - key: `MILLIMETRIC_KEY`, none when nil.
    ///   - settings: config keys, set as `MILLIMETRIC_RELAY_<KEY>` (`["synchronous": "normal"]`).
    ///   - environment: more variables, set last.
    public init(
        executable: String, directory: String? = nil, name: String = "relay", stateName: String? = nil,
        host: String, key: String? = StandInProcess.secretKey, settings: [String: String] = [:],
        arguments: [String] = [], environment: [String: String] = [:], start: Bool = true
    ) throws(TestKitError) {
        self.executable = executable
        let path: String
        if let directory { path = directory } else { path = try TemporaryDirectory(prefix: "mmr").path }
        ownsDirectory = directory == nil
        self.directory = URL(fileURLWithPath: path)
        self.name = name
        socketPath = (path as NSString).appendingPathComponent("\(name).sock")
        stateDirectory = (path as NSString).appendingPathComponent("\(stateName ?? name)-state")
        self.arguments = arguments
        var variables = ["PATH": "/usr/bin:/bin", "MILLIMETRIC_HOST": host]
        if let key { variables["MILLIMETRIC_KEY"] = key }
        for (key, value) in settings { variables["MILLIMETRIC_RELAY_\(key.uppercased())"] = value }
        self.environment = variables.merging(environment) { $1 }
        if start { try self.start() }
    }

    deinit {
        current.withLock { $0.child }?.kill9()
        if ownsDirectory { try? FileManager.default.removeItem(at: directory) }
    }

    /// How many times the daemon was started.
    public var generation: Int { current.withLock { $0.generation } }
    public var isRunning: Bool { current.withLock { $0.child?.isRunning ?? false } }
    /// The PID of the last start, nil before the first.
    public var pid: Int32? { current.withLock { $0.child?.pid } }

    public func logPath(ofGeneration generation: Int) -> String {
        directory.appendingPathComponent("\(name)-\(generation).log").path
    }

    /// Starts the daemon (again, on the same state directory) and by default waits until its
    /// socket accepts connections; throws, with the end of its output, when it exits first.
    public func start(waitForSocket: Bool = true, timeout: Duration = .seconds(30)) throws(TestKitError) {
        let generation = current.withLock { $0.generation + 1 }
        let log = ChildProcess.Output.file(logPath(ofGeneration: generation))
        let child = try ChildProcess(
            name: "\(name) (start \(generation))", executable: executable,
            arguments: ["run", "--socket", socketPath, "--state-dir", stateDirectory] + arguments,
            environment: environment, stdout: log, stderr: log)
        current.withLock { $0 = (child, generation) }
        guard waitForSocket else { return }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !child.isRunning {
                let status = child.stop()
                throw TestKitError("the relay exited with \(status) before listening:\n\(child.stderrTail())")
            }
            if (try? IngestClient(path: socketPath)) != nil { return }
            usleep(5_000)
        }
        throw TestKitError("the relay did not listen on \(socketPath) within \(timeout):\n\(child.stderrTail())")
    }

    /// Runs the daemon to its exit (for start-up failures); returns the status and output.
    public func runToExit(timeout: Duration = .seconds(20)) throws(TestKitError) -> (status: Int32, output: String) {
        try start(waitForSocket: false)
        guard let child = current.withLock({ $0.child }), let status = child.waitForExit(timeout: timeout) else {
            kill9()
            throw TestKitError("the relay did not exit within \(timeout)")
        }
        return (status, output(ofGeneration: generation))
    }

    /// What the daemon printed in its `generation`th run.
    public func output(ofGeneration generation: Int) -> String {
        (try? String(contentsOfFile: logPath(ofGeneration: generation), encoding: .utf8)) ?? ""
    }

    /// The last `count` lines the daemon printed in its latest run, for error messages.
    public func outputTail(_ count: Int = 15) -> String {
        output(ofGeneration: generation).split(separator: "\n", omittingEmptySubsequences: false).suffix(count)
            .joined(separator: "\n")
    }

    /// Everything the daemon printed so far, across restarts.
    public var allOutput: String { (1...max(1, generation)).map { output(ofGeneration: $0) }.joined(separator: "\n") }

    /// SIGKILL: no chance to clean up. Returns once the process is gone.
    public func kill9() {
        current.withLock { $0.child }?.kill9()
    }

    /// SIGTERM and wait (SIGKILL after `timeout`); returns the exit status, -1 if never started.
    @discardableResult
    public func terminate(timeout: Duration = .seconds(30)) -> Int32 {
        current.withLock { $0.child }?.stop(timeout: timeout) ?? -1
    }

    public func signal(_ signalNumber: Int32) {
        current.withLock { $0.child }?.signal(signalNumber)
    }

    /// What `millimetric-relay status` reads from the outbox (whether or not the daemon runs).
    public func outboxStatus() throws(TestKitError) -> OutboxStatus {
        do {
            return try OutboxStatus.read(databasePath: databasePath, lockPath: lockPath)
        } catch {
            throw TestKitError("cannot read the outbox status: \(error)")
        }
    }
}
