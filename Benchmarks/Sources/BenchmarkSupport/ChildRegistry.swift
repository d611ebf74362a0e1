import Dispatch
import Foundation
import Synchronization

/// Every child process a benchmark started, by PID, so that an interrupted benchmark (Ctrl-C,
/// SIGTERM, a fatal error path) still stops exactly the processes it started, and no others.
public enum ChildRegistry {
    private static let children = Mutex<[Int32: String]>([:])
    private static let directories = Mutex<[String]>([])
    /// The signal sources, kept alive for the life of the process.
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    static func add(pid: Int32, name: String) {
        children.withLock { $0[pid] = name }
    }

    static func remove(pid: Int32) {
        _ = children.withLock { $0.removeValue(forKey: pid) }
    }

    /// A directory to delete when the benchmark is interrupted (its temp dir, unless kept).
    public static func removeOnInterrupt(_ path: String) {
        directories.withLock { $0.append(path) }
    }

    /// Installs SIGINT/SIGTERM/SIGHUP handlers that stop every registered child, delete the
    /// registered directories, then exit.
    public static func installSignalHandlers() {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                FileHandle.standardError.write(Data("\ninterrupted: stopping the child processes\n".utf8))
                stopAll()
                for path in directories.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
                exit(128 + signalNumber)
            }
            source.resume()
            sources.append(source)  // only from the main thread, once, before any child starts
        }
    }

    /// SIGTERM to every registered child, up to 10 s to exit, then SIGKILL.
    public static func stopAll() {
        let pids = children.withLock { Array($0.keys) }
        for pid in pids { kill(pid, SIGTERM) }
        let deadline = Monotonic.nanoseconds() + 10_000_000_000
        for pid in pids {
            while kill(pid, 0) == 0 && !isZombie(pid) && Monotonic.nanoseconds() < deadline {
                Monotonic.sleep(seconds: 0.02)
            }
            if kill(pid, 0) == 0 && !isZombie(pid) { kill(pid, SIGKILL) }
        }
    }

    private static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        return stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z")
    }
}
