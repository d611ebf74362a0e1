import Dispatch
import Foundation

/// Calls a handler once on SIGTERM or SIGINT, and optionally when standard input reaches its end.
///
/// The stdin watch exists for test harnesses: a parent that gives the stand-in a pipe as stdin
/// and then dies (even by `kill -9`) closes that pipe, so the stand-in exits instead of lingering
/// as an orphan on a port.
final class ShutdownTrigger {
    private let sources: [any DispatchSourceSignal]

    init(watchStandardInput: Bool, handler: @escaping @Sendable (String) -> Void) {
        let queue = DispatchQueue(label: "millimetric-api-standin.signals")
        var sources: [any DispatchSourceSignal] = []
        for (signalNumber, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler { handler(name) }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
        if watchStandardInput {
            let thread = Thread {
                var buffer = [UInt8](repeating: 0, count: 512)
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
                    if count > 0 { continue }
                    if count < 0, errno == EINTR { continue }
                    break
                }
                handler("end of standard input")
            }
            thread.start()
        }
    }

    deinit {
        for source in self.sources {
            source.cancel()
        }
    }
}
