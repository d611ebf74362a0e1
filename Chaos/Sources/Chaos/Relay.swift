import Foundation
import MillimetricRelay
import Synchronization

/// The real `millimetric-relay run` as a child process, on a socket and state directory in the
/// run's work directory, killed with SIGKILL and restarted on the same state directory.
final class Relay: Sendable {
    let executable: String
    let socketPath: String
    let stateDirectory: String
    let logPath: String
    private let environment: [String: String]
    private let current = Mutex<Process?>(nil)
    private let generations = Atomic<Int>(0)

    init(executable: String, directory: String, host: String) {
        self.executable = executable
        socketPath = (directory as NSString).appendingPathComponent("ingest.sock")
        stateDirectory = (directory as NSString).appendingPathComponent("state")
        logPath = (directory as NSString).appendingPathComponent("relay.log")
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        // Explicit, so nothing of the caller's environment (a NOTIFY_SOCKET, another key) leaks in.
        environment = [
            "PATH": "/usr/bin:/bin",
            "MILLIMETRIC_HOST": host,
            "MILLIMETRIC_KEY": "sk_test_chaos_0001",
            "MILLIMETRIC_RELAY_FLUSH_INTERVAL": "100ms",
        ]
    }

    /// How many times the daemon was started.
    var startCount: Int { generations.load(ordering: .relaxed) }

    /// Starts the daemon and waits until its socket accepts a connection.
    func start(timeoutSeconds: Int = 30) throws(ChaosError) {
        let generation = generations.add(1, ordering: .relaxed).newValue
        let log = FileHandle(forWritingAtPath: logPath)!
        log.seekToEndOfFile()
        log.write(Data("=== chaos: start \(generation)\n".utf8))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["run", "--socket", socketPath, "--state-dir", stateDirectory]
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        do {
            try process.run()
        } catch {
            throw ChaosError("cannot start \(executable): \(error)")
        }
        try? log.close()
        ChildRegistry.add(process.processIdentifier)
        current.withLock { $0 = process }
        let deadline = ContinuousClock.now + .seconds(timeoutSeconds)
        while ContinuousClock.now < deadline {
            if !process.isRunning {
                process.waitUntilExit()
                ChildRegistry.remove(process.processIdentifier)
                throw ChaosError("the relay exited with \(process.terminationStatus) before listening; see \(logPath)")
            }
            if (try? IngestClient(path: socketPath)) != nil { return }
            usleep(5_000)
        }
        throw ChaosError("the relay did not listen within \(timeoutSeconds) s; see \(logPath)")
    }

    /// SIGKILL, and wait until the process is gone.
    func kill9() {
        guard let process = current.withLock({ $0 }) else { return }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        ChildRegistry.remove(process.processIdentifier)
    }

    /// SIGTERM and wait (SIGKILL after `timeoutSeconds`); returns the exit status.
    @discardableResult
    func terminate(timeoutSeconds: Int = 30) -> Int32 {
        guard let process = current.withLock({ $0 }) else { return -1 }
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = ContinuousClock.now + .seconds(timeoutSeconds)
            while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        ChildRegistry.remove(process.processIdentifier)
        return process.terminationStatus
    }

    var isRunning: Bool { current.withLock { $0?.isRunning ?? false } }

    /// What `status` reads from the outbox (works whether or not the daemon runs).
    func status() throws -> OutboxStatus {
        try OutboxStatus.read(
            databasePath: (stateDirectory as NSString).appendingPathComponent("outbox.sqlite"),
            lockPath: (stateDirectory as NSString).appendingPathComponent("relay.lock"))
    }
}
