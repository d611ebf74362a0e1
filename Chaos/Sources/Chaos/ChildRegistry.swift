import Dispatch
import Foundation
import Synchronization

/// Every child process the run started, by PID, so that an interrupted run (Ctrl-C, SIGTERM)
/// still stops exactly the processes it started, and no others.
enum ChildRegistry {
    private static let children = Mutex<Set<Int32>>([])
    /// The signal sources, kept alive for the life of the process; set once, from `main`,
    /// before any other thread exists.
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    static func add(_ pid: Int32) { _ = children.withLock { $0.insert(pid) } }
    static func remove(_ pid: Int32) { _ = children.withLock { $0.remove(pid) } }

    /// SIGINT/SIGTERM/SIGHUP kill every registered child (SIGKILL: the relay's state is
    /// throwaway here), then exit.
    static func installSignalHandlers() {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                FileHandle.standardError.write(Data("\nchaos: interrupted; stopping the child processes\n".utf8))
                for pid in children.withLock({ Array($0) }) { kill(pid, SIGKILL) }
                exit(128 + signalNumber)
            }
            source.resume()
            sources.append(source)
        }
        // A producer writing to a relay that was just killed must see EPIPE, not die.
        signal(SIGPIPE, SIG_IGN)
    }
}
