import ArgumentParser
import BenchmarkSupport
import Foundation
import RelayTestKit

/// Durable ingest throughput and ack latency of the relay, against the machine's limit: a bare
/// SQLite loop that writes the same rows with the same transaction size.
@main
struct IngestBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest-bench",
        abstract: "Durable ingest events/s and ack latency of millimetric-relay, against bare SQLite.",
        discussion: """
            For each synchronous mode and client count: starts the release relay (upstream: a \
            stand-in started with --down, so delivery does not compete), connects the clients, \
            and has each pipeline its events (generated before the clock starts) in large \
            chunks from one thread while another reads the acks. events/s runs from the first \
            write to the last ack; ack latency is, per event, its ack's arrival minus the time \
            its bytes were written. The relay logs its group commits and inserted rows on \
            SIGTERM; then a bare SQLite loop inserts the very rows the relay stored, in \
            transactions of the relay's average size, with the same synchronous setting.
            Build the release binaries first: swift build -c release (in the repository root).
            """)

    @Option(help: "Events per client.")
    var events = 100_000

    @Option(help: "Client counts to run, comma-separated.")
    var clients = CommaSeparated<Int>([1, 4])

    @Option(help: "Synchronous modes to run, comma-separated (full, normal).")
    var synchronous = CommaSeparated<SynchronousMode>([.full, .normal])

    @Option(help: "Runs of each case; figures are then median (min–max).")
    var repeats = 1

    @OptionGroup var session: BenchmarkOptions

    @Flag(
        help:
            "Clients shut down their write side after the last event and read acks until the relay closes (as `send` does), instead of closing once every ack has arrived."
    )
    var halfClose = false

    mutating func validate() throws {
        guard events > 0, repeats > 0 else { throw ValidationError("--events and --repeats must be positive") }
        guard clientCounts.allSatisfy({ $0 > 0 }) else { throw ValidationError("--clients: positive integers, e.g. 1,4") }
    }

    var clientCounts: [Int] { clients.values }
    var modes: [String] { synchronous.values.map(\.rawValue) }

    func run() throws {
        try BenchmarkSession.run(name: "ingest-bench", options: session) {
            try measure(binaries: $0, directory: $1)
        }
    }

    func measure(binaries: Binaries, directory: TemporaryDirectory) throws {

        let maxClients = clientCounts.max()!
        let generator = EventGenerator()
        let generationStart = Monotonic.nanoseconds()
        let batches = (0..<maxClients).map { generator.batch(client: $0, sequence: 0..<events) }
        let meanBytes = batches.reduce(0.0) { $0 + $1.meanEventBytes } / Double(batches.count)
        print(
            "generated \(Format.count(events)) events per client for up to \(maxClients) clients, "
                + "\(Format.fixed(meanBytes, 0)) B/event mean, in \(Format.fixed(Monotonic.seconds(from: generationStart, to: Monotonic.nanoseconds()))) s"
        )

        let standIn = try StandInProcess(executable: binaries.standIn, directory: directory, arguments: ["--down"])
        defer { standIn.stop() }

        var runs: [CaseKey: [Measurement]] = [:]
        var number = 0
        for round in 1...repeats {
            for mode in modes {
                for clientCount in clientCounts {
                    number += 1
                    let name = "r\(number)"
                    let measurement = try measure(
                        name: name, mode: mode, batches: Array(batches.prefix(clientCount)), binaries: binaries,
                        standIn: standIn,
                        directory: directory)
                    print(
                        "  [\(round)/\(repeats)] synchronous=\(mode) clients=\(clientCount): \(Format.rate(measurement.load.eventsPerSecond)) events/s, "
                            + "\(Format.fixed(measurement.rowsPerCommit, 1)) rows/commit; bare \(Format.rate(measurement.bare[.outbox]!.rowsPerSecond)) rows/s"
                    )
                    runs[CaseKey(mode: mode, clients: clientCount), default: []].append(measurement)
                }
            }
        }
        print()
        print(report(runs: runs, meanBytes: meanBytes))
    }

    struct CaseKey: Hashable {
        var mode: String
        var clients: Int
    }

    struct Measurement {
        var load: LoadSummary
        var commits: Int
        var inserted: Int
        var rowsPerCommit: Double
        var rowBytes: Double
        var bare: [BareSQLite.Schema: BareSQLite.Result]
        var peakRSSKilobytes: Int?
    }

    func measure(
        name: String, mode: String, batches: [EventBatch], binaries: Binaries, standIn: StandInProcess,
        directory: TemporaryDirectory
    ) throws -> Measurement {
        let expected = batches.reduce(0) { $0 + $1.count }
        let relay = try RelayProcess(
            executable: binaries.relay, directory: directory.path, name: name, host: standIn.baseURL,
            settings: ["synchronous": mode, "max_outbox_bytes": "8GiB"])
        let load: LoadSummary
        let peak: Int?
        do {
            load = try Load.run(socketPath: relay.socketPath, batches: batches, halfClose: halfClose)
            try load.requireAllAcked(expected: expected)
            peak = ProcStatus.peakRSSKilobytes(pid: relay.pid)
        } catch {
            _ = try? relay.stop()
            throw error
        }
        guard let counters = try relay.stop() else {
            throw TestKitError(
                "the relay logged no outbox.commits/outbox.inserted when it stopped; is the binary current?")
        }
        let rows = try OutboxRows(outboxPath: relay.databasePath)
        directory.remove("\(name)-state")
        // The relay's group commits include a few without event rows (delivery state while the
        // upstream is down), so M/N slightly understates its transactions; round to nearest.
        let rowsPerCommit = counters.averageTransactionSize
        var bare: [BareSQLite.Schema: BareSQLite.Result] = [:]
        for schema in BareSQLite.Schema.allCases {
            bare[schema] = try BareSQLite.run(
                rows: rows, transactionSize: Int(rowsPerCommit.rounded()), synchronous: mode, schema: schema,
                path: directory.file("bare.sqlite"))
        }
        return Measurement(
            load: load, commits: counters.commits, inserted: counters.inserted, rowsPerCommit: rowsPerCommit,
            rowBytes: rows.meanBodyBytes, bare: bare, peakRSSKilobytes: peak)
    }

    func report(runs: [CaseKey: [Measurement]], meanBytes: Double) -> String {
        var relayTable = TextTable([
            "sync", "clients", "events", "relay events/s", "ack p50 ms", "ack p99 ms", "rows/commit", "relay peak RSS",
        ])
        var limitTable = TextTable([
            "sync", "clients", "rows/commit", "bare outbox-schema rows/s", "relay/bare", "bare body-only rows/s",
            "relay/bare",
        ])
        for mode in modes {
            for clients in clientCounts {
                guard let list = runs[CaseKey(mode: mode, clients: clients)] else { continue }
                func spread(_ value: (Measurement) -> Double, _ format: (Double) -> String) -> String {
                    Format.spread(list.map(value), format)
                }
                let rowsPerCommit = spread(\.rowsPerCommit) { Format.fixed($0, 0) }
                relayTable.add([
                    mode, "\(clients)", Format.count(list[0].load.acked),
                    spread({ $0.load.eventsPerSecond }, Format.rate),
                    spread({ $0.load.latency?.p50Milliseconds ?? .nan }) { Format.fixed($0, 1) },
                    spread({ $0.load.latency?.p99Milliseconds ?? .nan }) { Format.fixed($0, 1) },
                    rowsPerCommit,
                    spread({ Double($0.peakRSSKilobytes ?? 0) / 1024 }) { Format.fixed($0, 1) + " MB" },
                ])
                limitTable.add([
                    mode, "\(clients)", rowsPerCommit,
                    spread({ $0.bare[.outbox]!.rowsPerSecond }, Format.rate),
                    spread({ $0.load.eventsPerSecond / $0.bare[.outbox]!.rowsPerSecond }, Format.percent),
                    spread({ $0.bare[.bodyOnly]!.rowsPerSecond }, Format.rate),
                    spread({ $0.load.eventsPerSecond / $0.bare[.bodyOnly]!.rowsPerSecond }, Format.percent),
                ])
            }
        }
        let rowBytes = runs.values.first?.first?.rowBytes ?? 0
        let repeatNote = repeats > 1 ? "; median (min–max) of \(repeats) runs" : ""
        return """
            Durable ingest: each client pipelines \(Format.count(events)) events of \(Format.fixed(meanBytes, 0)) B \
            (\(Format.fixed(rowBytes, 0)) B stored)\(repeatNote)
            \(relayTable.render())
            events/s = first write to last ack; ack latency = per event, ack arrival - its last byte written; \
            rows/commit = the relay's outbox.inserted / outbox.commits.

            Machine limit: one thread re-inserts the relay's stored rows into a fresh WAL database, prepared statement, \
            same synchronous, transactions of the relay's rows/commit
            \(limitTable.render())
            """
    }
}
