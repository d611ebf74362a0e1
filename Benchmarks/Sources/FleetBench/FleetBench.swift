import ArgumentParser
import BenchmarkSupport
import Foundation
import MillimetricRelay
import RelayTestKit

/// A fleet of real relays on one key (issue #12): N relay processes, the stand-in with its
/// per-key limits, a paced producer per relay. Does the fleet share the key's 2,500 events/s
/// with few 429s, full batches and fair shares?
@main
struct FleetBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet-bench",
        abstract: "N relays sharing one API key: delivered events/s, 429 share, mean batch, per-relay shares, lag.",
        discussion: """
            Starts the stand-in with its default per-key limits (batch 5/s burst 20) and \
            --latency-ms answers, then --relays release relays with their default settings and \
            the same key, and one producer per relay writing --rate % of the key's 2,500 \
            events/s, split evenly, for --seconds. The first --warmup seconds are the fleet \
            learning its share (every relay starts at the full rate) and are reported apart; \
            the steady figures are over the rest. After the load stops it measures how long \
            until every outbox is empty (the lag).
            Build the release binaries first: swift build -c release (in the repository root).
            """)

    // The command's own parameters. `duplicates` pairs runs of `@Option` + `var x = number` here
    // with chaos's and http-bench's by shape: they are declarations of different options, with nothing to share
    // (what is shared, the binaries, seed, work directory and synchronous mode, is an @OptionGroup).
    @Option(help: "Relay processes.")
    var relays = 16

    @Option(help: "Offered load, % of the key's 2,500 events/s, for the whole fleet.")
    var rate = 150.0

    @Option(help: "Seconds of load.")
    var seconds = 30.0

    @Option(help: "Seconds at the start of the load not counted in the steady figures.")
    var warmup = 10.0

    @Option(help: "Stand-in answer delay, ms (300: the round trip the relay is sized for).")
    var latencyMs = 300

    @Option(help: "Seconds to wait for the outboxes to empty after the load.")
    var drainTimeout = 600.0

    @OptionGroup var session: BenchmarkOptions

    static let keyEventsPerSecond = 2_500.0

    mutating func validate() throws {
        guard relays > 0 else { throw ValidationError("--relays must be positive") }
        guard rate > 0 else { throw ValidationError("--rate must be positive") }
        guard seconds > warmup, warmup >= 0 else { throw ValidationError("--seconds must exceed --warmup") }
    }

    func run() throws {
        try BenchmarkSession.run(name: "fleet-bench", options: session) {
            try measure(binaries: $0, directory: $1)
        }
    }

    /// The stand-in's counters and every relay's delivered total at one instant.
    struct Snapshot {
        var time: UInt64
        var stats: StandInProcess.Counters
        var delivered: [Int64]
    }

    func snapshot(_ standIn: StandInProcess, _ fleet: [RelayProcess]) throws -> Snapshot {
        let time = Monotonic.nanoseconds()
        let stats = try standIn.counters()
        let delivered = try fleet.map { try $0.outboxStatus().deliveredTotal }
        return Snapshot(time: time, stats: stats, delivered: delivered)
    }

    func measure(binaries: Binaries, directory: TemporaryDirectory) throws {
        let standIn = try StandInProcess(executable: binaries.standIn, directory: directory, arguments: [])
        defer { standIn.stop() }
        try standIn.setFaults(["latency_ms": latencyMs])
        var fleet: [RelayProcess] = []
        defer { for relay in fleet { _ = try? relay.stop() } }
        for index in 0..<relays {
            fleet.append(
                try RelayProcess(
                    executable: binaries.relay, directory: directory.path, name: "r\(index)", host: standIn.baseURL))
        }
        let offered = rate / 100 * Self.keyEventsPerSecond
        let generator = EventGenerator()
        let producers = try (0..<relays).map { index throws(TestKitError) in
            try PacedProducer(
                socketPath: fleet[index].socketPath, generator: generator, client: index,
                eventsPerSecond: offered / Double(relays))
        }
        print("  \(relays) relays × \(Format.rate(offered / Double(relays))) events/s = \(Format.rate(offered)) events/s offered (\(Format.fixed(rate, 0)) % of the key), \(Format.fixed(seconds, 0)) s, latency \(latencyMs) ms")
        let start = try snapshot(standIn, fleet)
        for producer in producers { producer.start() }
        Monotonic.sleep(seconds: warmup)
        let steadyStart = try snapshot(standIn, fleet)
        let steadyWritten = producers.map(\.writtenCount)
        Monotonic.sleep(seconds: seconds - warmup)
        let end = try snapshot(standIn, fleet)
        let endWritten = producers.map(\.writtenCount)
        var written = 0
        var acked = 0
        for producer in producers {
            let counts = try producer.stop()
            written += counts.written
            acked += counts.acked
        }
        // The lag: until every outbox is empty.
        let loadEnd = end.time
        var lag: Double?
        while Monotonic.seconds(from: loadEnd, to: Monotonic.nanoseconds()) < drainTimeout {
            if try fleet.allSatisfy({ try $0.outboxStatus().queuedEvents == 0 }) {
                lag = Monotonic.seconds(from: loadEnd, to: Monotonic.nanoseconds())
                break
            }
            Monotonic.sleep(seconds: 0.1)
        }
        let final = try standIn.counters()
        let rates = fleet.map { (try? $0.outboxStatus())?.batchSendRate ?? .nan }

        let window = Result(from: steadyStart, to: end, offered: zip(steadyWritten, endWritten).map { $1 - $0 })
        let whole = Result(from: start, to: end, offered: endWritten)
        print()
        var table = TextTable([
            "window", "s", "offered events/s", "delivered events/s", "of min(offered, 2,500)", "batch requests", "429s",
            "429 share", "mean batch", "share min–max of mean",
        ])
        for (name, result) in [("warm-up + steady", whole), ("steady (after \(Format.fixed(warmup, 0)) s)", window)] {
            table.add([
                name, Format.fixed(result.seconds, 1), Format.rate(result.offeredPerSecond),
                Format.rate(result.deliveredPerSecond),
                Format.percent(result.deliveredPerSecond / min(result.offeredPerSecond, Self.keyEventsPerSecond)),
                Format.count(result.requests), Format.count(result.rateLimited), Format.percent(result.rateLimitedShare),
                Format.rate(result.meanBatch),
                "\(Format.fixed(result.shareMinimum)) – \(Format.fixed(result.shareMaximum))",
            ])
        }
        print(table.render())
        print(
            "lag after the load stopped: \(lag.map { "\(Format.fixed($0, 1)) s" } ?? "more than \(Format.fixed(drainTimeout, 0)) s"); "
                + "events written \(Format.count(written)), acked \(Format.count(acked)), stand-in holds \(Format.count(final.events)) "
                + "(\(Format.count(final.duplicates)) duplicates), 429s in all \(Format.count(final.count(status: 429)))")
        let known = rates.filter(\.isFinite)
        if let low = known.min(), let high = known.max() {
            print("send rates at the end (status): \(Format.fixed(low)) – \(Format.fixed(high)) batch requests/s, sum \(Format.fixed(known.reduce(0, +)))")
        }
        print(
            "share = a relay's delivered events / the mean over relays, each offered the same; steady = the window after the warm-up.")
    }

    /// Figures over one window.
    struct Result {
        var seconds: Double
        var offeredPerSecond: Double
        var deliveredPerSecond: Double
        var requests: Int
        var rateLimited: Int
        var meanBatch: Double
        var shareMinimum: Double
        var shareMaximum: Double
        var rateLimitedShare: Double { requests == 0 ? 0 : Double(rateLimited) / Double(requests) }

        init(from start: Snapshot, to end: Snapshot, offered: [Int]) {
            seconds = Monotonic.seconds(from: start.time, to: end.time)
            offeredPerSecond = Double(offered.reduce(0, +)) / seconds
            let events = end.stats.events - start.stats.events
            deliveredPerSecond = Double(events) / seconds
            let accepted = end.stats.count(status: 202) - start.stats.count(status: 202)
            rateLimited = end.stats.count(status: 429) - start.stats.count(status: 429)
            requests = accepted + rateLimited
            meanBatch = accepted == 0 ? 0 : Double(events) / Double(accepted)
            let perRelay = zip(start.delivered, end.delivered).map { Double($1 - $0) }
            let mean = perRelay.reduce(0, +) / Double(max(1, perRelay.count))
            shareMinimum = mean > 0 ? (perRelay.min() ?? 0) / mean : 0
            shareMaximum = mean > 0 ? (perRelay.max() ?? 0) / mean : 0
        }
    }
}
