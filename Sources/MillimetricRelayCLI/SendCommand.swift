import ArgumentParser
import Dispatch
import FoundationEssentials
import Glibc
import MillimetricRelay
import Synchronization

/// `send`: writes events to the socket and prints one ack per event; for scripts and cron jobs.
struct SendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send events to the relay: JSON objects as arguments, or NDJSON on stdin.",
        discussion: """
            Prints one ack line per event. Exits 1 if any event was refused, 69 if the relay \
            cannot be reached or closed the connection before acknowledging everything.
            """)

    @Option(help: "The Unix socket of the relay (default: from the configuration).")
    var socket: String?

    @Option(help: "The config file to read socket_path from.")
    var config: String?

    @Argument(help: "Events as JSON objects, e.g. '{\"event\":\"signup\",\"user_id\":\"u1\"}'. Without any, NDJSON is read from stdin.")
    var events: [String] = []

    func run() throws {
        let path = try producerSocketPath(socket: socket, configFile: config)
        let client: IngestClient
        do {
            client = try IngestClient(path: path)
        } catch {
            printError("millimetric-relay send: \(error)")
            throw ExitCode(RelayExitCode.unavailable.rawValue)
        }

        let counts = AckCounts()
        DetachedThread.start(name: "ack-reader") {
            client.readLines { line in
                print(line)
                counts.record(line)
            }
            counts.finished.signal()
        }

        var expected = 0
        var broken = false
        func submit(_ line: some StringProtocol) {
            guard !broken else { return }
            if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { return }
            expected += 1
            if !client.write(Array(line.utf8) + [0x0A]) { broken = true }
        }
        if events.isEmpty {
            while let line = readLine(strippingNewline: true) { submit(line) }
        } else {
            for event in events {
                // One argument is one event: a newline inside it would split it.
                submit(event.replacing("\n", with: " "))
            }
        }
        client.finishWriting()
        counts.finished.wait()
        fflush(nil)

        let (acked, refused) = counts.totals
        if acked < expected {
            printError("millimetric-relay send: the relay closed the connection after \(acked) of \(expected) acks; the rest were not stored")
            throw ExitCode(RelayExitCode.unavailable.rawValue)
        }
        if refused > 0 { throw ExitCode(RelayExitCode.someLinesRejected.rawValue) }
    }
}

/// Counts acks from the reader thread.
final class AckCounts: @unchecked Sendable {
    // Read by the main thread only after `finished` is signalled.
    private let counts = Mutex((acked: 0, refused: 0))
    let finished = DispatchSemaphore(value: 0)

    func record(_ line: String) {
        let refusal = !line.hasPrefix(#"{"ok":true"#)
        counts.withLock { counts in
            counts.acked += 1
            if refusal { counts.refused += 1 }
        }
    }

    var totals: (Int, Int) {
        counts.withLock { ($0.acked, $0.refused) }
    }
}
