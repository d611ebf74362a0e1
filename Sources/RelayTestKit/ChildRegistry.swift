import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Every child process this process started, by PID, so that an interrupted test, benchmark or
/// chaos run (Ctrl-C, SIGTERM, a fatal error path) still stops exactly the processes it
/// started, and no others. ``ChildProcess`` registers itself.
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

    /// A directory to delete when the run is interrupted (its temp dir, unless kept).
    public static func removeOnInterrupt(_ path: String) {
        directories.withLock { $0.append(path) }
    }

    /// Installs SIGINT/SIGTERM/SIGHUP handlers that stop every registered child (SIGTERM and a
    /// bounded wait, or at once with SIGKILL when `kill` is set: for a relay whose state is
    /// throwaway), delete the registered directories, then exit. Also ignores SIGPIPE, so that
    /// writing to a child that was just killed gives EPIPE instead of ending this process.
    /// Call it once, from the main thread, before any child starts.
    public static func installSignalHandlers(name: String, kill: Bool = false) {
        signal(SIGPIPE, SIG_IGN)
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                FileHandle.standardError.write(Data("\n\(name): interrupted; stopping the child processes\n".utf8))
                if kill { killAll() } else { stopAll() }
                for path in directories.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
                exit(128 + signalNumber)
            }
            source.resume()
            sources.append(source)
        }
    }

    /// SIGKILL to every registered child.
    public static func killAll() {
        for pid in children.withLock({ Array($0.keys) }) { Glibc.kill(pid, SIGKILL) }
    }

    /// SIGTERM to every registered child, up to 10 s to exit, then SIGKILL.
    public static func stopAll() {
        let pids = children.withLock { Array($0.keys) }
        for pid in pids { Glibc.kill(pid, SIGTERM) }
        let deadline = Monotonic.nanoseconds() + 10_000_000_000
        for pid in pids {
            while Glibc.kill(pid, 0) == 0 && !isZombie(pid) && Monotonic.nanoseconds() < deadline {
                Monotonic.sleep(seconds: 0.02)
            }
            if Glibc.kill(pid, 0) == 0 && !isZombie(pid) { Glibc.kill(pid, SIGKILL) }
        }
    }

    private static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        return stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z")
    }
}
