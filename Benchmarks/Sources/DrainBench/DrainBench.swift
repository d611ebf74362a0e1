import ArgumentParser
import BenchmarkSupport
import Foundation
import RelayTestKit

/// Delivery from a backlog into the API stand-in: throughput with the rate limits off, the
/// steady rate under the API's real limits with 300 ms answers, and the relay's peak memory.
@main
struct DrainBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain-bench",
        abstract: "Drain events/s, duplicates, 429s and peak RSS of millimetric-relay delivering a backlog.",
        discussion: """
            Each run starts a stand-in with --down and the release relay, prefills a backlog \
            through several connections (every event acked), then switches the stand-in's \
            `down` off and polls its /_admin/stats until it holds every event.
            unlimited: stand-in --no-rate-limits, relay batch_rate/batch_burst 1000000, \
            max_in_flight 4; one run per --backlogs entry; reports the drain rate, duplicates \
            and the relay's peak RSS (VmHWM) while draining (reset after the prefill).
            limited: the stand-in's default limits (batch 5/s, burst 20), the relay's default \
            rates, latency_ms 300; reports the steady events/s over the second half of the \
            backlog (after the burst), against 2,500 events/s, and the 429s.
            --resume switch (default) keeps the relay that prefilled: after `down` goes off it \
            resumes at the end of its current backoff (up to 30 s, full jitter), a wait that is \
            reported apart and not counted in the rates; its VmHWM is reset after the prefill \
            (clear_refs), but it keeps what the prefill grew. --resume restart stops that relay, \
            switches `down` off and starts a fresh relay on the same outbox: no backoff wait, \
            and its peak RSS is the drain's alone.
            Build the release binaries first: swift build -c release (in the repository root).
            """)

    @Option(help: "Parts to run, comma-separated: unlimited, limited.")
    var parts = CommaSeparated<Part>([.unlimited, .limited])

    @Option(help: "Backlogs of the unlimited runs, comma-separated.")
    var backlogs = CommaSeparated<Int>([100_000, 1_000_000])

    @Option(help: "Backlog of the limited run (at least 30000).")
    var limitedBacklog = 50_000

    @Option(help: "Stand-in answer delay in the limited run, ms.")
    var latencyMs = 300

    @Option(help: "Connections that prefill the backlog.")
    var connections = 4

    enum Part: String, ExpressibleByArgument, CaseIterable {
        case unlimited, limited
    }

    enum Resume: String, ExpressibleByArgument, CaseIterable {
        case `switch`, restart
    }

    @Option(
        help:
            "How delivery resumes after the prefill: switch (same relay, stand-in up) or restart (a fresh relay on the backlog)."
    )
    var resume = Resume.switch

    @Flag(help: "Prefill clients shut down their write side after the last event and read acks until the relay closes.")
    var halfClose = false

    @OptionGroup var session: BenchmarkOptions

    var partList: [Part] { parts.values }
    var backlogList: [Int] { backlogs.values }

    mutating func validate() throws {
        guard backlogList.allSatisfy({ $0 > 0 }) else { throw ValidationError("--backlogs: positive integers") }
        guard limitedBacklog >= 30_000 else {
            throw ValidationError("--limited-backlog: at least 30000, so the steady phase is long enough")
        }
        guard connections > 0 else { throw ValidationError("--connections must be positive") }
    }

    /// Events per batch: what the relay sends and the limits count.
    static let batchEvents = 500
    /// The API's batch limit, and the steady rate it allows.
    static let apiBatchRate = 5.0
    static let apiBatchBurst = 20

    func run() throws {
        try BenchmarkSession.run(name: "drain-bench", options: session) {
            try measure(binaries: $0, directory: $1)
        }
    }

    func measure(binaries: Binaries, directory: TemporaryDirectory) throws {

        var unlimited: [UnlimitedResult] = []
        var limited: LimitedResult?
        var number = 0
        if partList.contains(.unlimited) {
            for backlog in backlogList {
                number += 1
                let result = try runUnlimited(
                    name: "d\(number)", backlog: backlog, binaries: binaries, directory: directory)
                print(
                    "  unlimited \(Format.count(backlog)): \(Format.rate(result.drain.rate)) events/s after a wait of \(Format.fixed(result.drain.waitSeconds)) s, "
                        + "\(result.drain.duplicates) duplicates, peak RSS \(Format.megabytes(kilobytes: result.drain.peakKilobytes))"
                )
                unlimited.append(result)
            }
        }
        if partList.contains(.limited) {
            number += 1
            let result = try runLimited(
                name: "d\(number)", backlog: limitedBacklog, binaries: binaries, directory: directory)
            print(
                "  limited \(Format.count(limitedBacklog)): steady \(Format.rate(result.steadyRate)) events/s, \(result.drain.tooManyRequests) × 429"
            )
            limited = result
        }
        print()
        if !unlimited.isEmpty { print(report(unlimited)) }
        if let limited {
            if !unlimited.isEmpty { print() }
            print(report(limited))
        }
    }

    // MARK: - Runs

    /// A stand-in (down) and a relay pointed at it, with a prefilled backlog.
    struct Setup {
        let standIn: StandInProcess
        /// The relay that prefilled; after a restart (`drain` changes it), the one that drains.
        var relay: RelayProcess
        let startKilobytes: Int?
        let prefill: LoadSummary
        let prefillPeakKilobytes: Int?

        func stop() {
            _ = try? relay.stop()
            standIn.stop()
        }
    }

    func prepare(
        name: String, backlog: Int, standInArguments: [String], relaySettings: [String: String], binaries: Binaries,
        directory: TemporaryDirectory
    ) throws -> Setup {
        let standIn = try StandInProcess(
            executable: binaries.standIn, directory: directory, name: "\(name)-standin",
            arguments: ["--down"] + standInArguments)
        let relay: RelayProcess
        do {
            relay = try RelayProcess(
                executable: binaries.relay, directory: directory.path, name: name, host: standIn.baseURL,
                settings: relaySettings.merging(["max_outbox_bytes": "8GiB"]) { mine, _ in mine })
        } catch {
            standIn.stop()
            throw error
        }
        let startKilobytes = ProcStatus.rssKilobytes(pid: relay.pid)
        do {
            let prefill = try Load.prefill(
                socketPath: relay.socketPath, generator: EventGenerator(), events: backlog, connections: connections,
                halfClose: halfClose)
            return Setup(
                standIn: standIn, relay: relay, startKilobytes: startKilobytes, prefill: prefill,
                prefillPeakKilobytes: ProcStatus.peakRSSKilobytes(pid: relay.pid))
        } catch {
            _ = try? relay.stop()
            standIn.stop()
            throw error
        }
    }

    /// One poll of the stand-in during a drain.
    struct Sample {
        var time: UInt64
        var events: Int
    }

    /// What a drain saw: the stand-in's event count each time it changed, from the moment
    /// delivery could resume (sample 0, zero events); the stand-in's answers meanwhile; the
    /// relay's peak RSS and CPU time.
    struct Drain {
        var samples: [Sample]
        /// Whether VmHWM covers the drain only (reset after the prefill, or a fresh process).
        var peakIsDrainOnly: Bool
        /// VmHWM when it covers the drain only, else the higher of it and the polled VmRSS.
        var peakKilobytes: Int?
        var relayCPUSeconds: Double?
        var standInCPUSeconds: Double?
        /// Counted until half a second after the last arrival (late duplicates, if any).
        var duplicates: Int
        var accepted: Int
        var tooManyRequests: Int
        var first: Sample { samples[1] }
        var last: Sample { samples.last! }
        var waitSeconds: Double { Monotonic.seconds(from: samples[0].time, to: first.time) }
        var seconds: Double { Monotonic.seconds(from: first.time, to: last.time) }
        /// Events after the first arrival over the time from the first to the last arrival.
        var rate: Double { seconds > 0 ? Double(last.events - first.events) / seconds : .nan }
    }

    /// Lets delivery resume (the stand-in's `faults` switch `down` off) and polls every 20 ms
    /// until the stand-in holds `backlog` events.
    func drain(
        _ setup: inout Setup, backlog: Int, faults: [String: Any], timeout: Double, directory: TemporaryDirectory, name: String
    ) throws -> Drain {
        let before = try setup.standIn.counters()
        var peakIsDrainOnly: Bool
        let start: UInt64
        let standInCPU = ProcStatus.cpuSeconds(pid: setup.standIn.child.pid)
        switch resume {
        case .switch:
            peakIsDrainOnly = ProcStatus.resetPeakRSS(pid: setup.relay.pid)
            try setup.standIn.setFaults(faults)
            start = Monotonic.nanoseconds()
        case .restart:
            // Stop the relay that prefilled, then start a fresh one on the same outbox.
            try setup.relay.stop()
            try setup.standIn.setFaults(faults)
            start = Monotonic.nanoseconds()
            setup.relay = try RelayProcess(
                executable: setup.relay.executable, directory: directory.path, name: "\(name)-restarted",
                stateName: name, host: setup.standIn.baseURL, environment: setup.relay.environment)
            peakIsDrainOnly = true
        }
        let relayCPU = ProcStatus.cpuSeconds(pid: setup.relay.pid)
        var samples = [Sample(time: start, events: 0)]
        var peakRSS = 0
        let deadline = start + UInt64(timeout * 1e9)
        while true {
            let now = Monotonic.nanoseconds()
            let events = try setup.standIn.counters().events
            if let rss = ProcStatus.rssKilobytes(pid: setup.relay.pid) { peakRSS = max(peakRSS, rss) }
            if events != samples.last!.events { samples.append(Sample(time: now, events: events)) }
            if events >= backlog { break }
            guard now < deadline else {
                throw TestKitError(
                    "the stand-in holds \(events) of \(backlog) events after \(Int(timeout)) s:\n\(setup.relay.outputTail())"
                )
            }
            Monotonic.sleep(seconds: 0.02)
        }
        let relayCPUSeconds = relayCPU.flatMap { atStart in ProcStatus.cpuSeconds(pid: setup.relay.pid).map { $0 - atStart } }
        let standInCPUSeconds = standInCPU.flatMap { atStart in
            ProcStatus.cpuSeconds(pid: setup.standIn.child.pid).map { $0 - atStart }
        }
        let hwm = ProcStatus.peakRSSKilobytes(pid: setup.relay.pid)
        Monotonic.sleep(seconds: 0.5)  // late duplicates, if any
        let after = try setup.standIn.counters()
        return Drain(
            samples: samples, peakIsDrainOnly: peakIsDrainOnly, peakKilobytes: peakIsDrainOnly ? hwm : max(hwm ?? 0, peakRSS),
            relayCPUSeconds: relayCPUSeconds, standInCPUSeconds: standInCPUSeconds,
            duplicates: after.duplicates - before.duplicates,
            accepted: after.count(status: 202) - before.count(status: 202),
            tooManyRequests: after.count(status: 429) - before.count(status: 429))
    }

    struct UnlimitedResult {
        var backlog: Int
        var prefillRate: Double
        var startKilobytes: Int?
        var prefillPeakKilobytes: Int?
        var drain: Drain
    }

    func runUnlimited(name: String, backlog: Int, binaries: Binaries, directory: TemporaryDirectory) throws
        -> UnlimitedResult
    {
        var setup = try prepare(
            name: name, backlog: backlog, standInArguments: ["--no-rate-limits"],
            relaySettings: ["batch_rate": "1000000", "batch_burst": "1000000", "max_in_flight": "4"],
            binaries: binaries, directory: directory)
        defer { setup.stop() }
        let drain = try drain(
            &setup, backlog: backlog, faults: ["down": false], timeout: 40 + Double(backlog) / 10_000,
            directory: directory, name: name)
        return UnlimitedResult(
            backlog: backlog, prefillRate: setup.prefill.eventsPerSecond, startKilobytes: setup.startKilobytes,
            prefillPeakKilobytes: setup.prefillPeakKilobytes, drain: drain)
    }

    struct LimitedResult {
        var backlog: Int
        var prefillRate: Double
        var drain: Drain
        /// The first arrival of the steady window, which runs to the last arrival.
        var steadyStart: Sample
        var steadyEvents: Int { drain.last.events - steadyStart.events }
        var steadySeconds: Double { Monotonic.seconds(from: steadyStart.time, to: drain.last.time) }
        var steadyRate: Double { steadySeconds > 0 ? Double(steadyEvents) / steadySeconds : .nan }
    }

    func runLimited(name: String, backlog: Int, binaries: Binaries, directory: TemporaryDirectory) throws
        -> LimitedResult
    {
        var setup = try prepare(
            name: name, backlog: backlog, standInArguments: [], relaySettings: [:], binaries: binaries,
            directory: directory)
        defer { setup.stop() }
        let expected = Double(backlog) / (Self.apiBatchRate * Double(Self.batchEvents))
        let drain = try drain(
            &setup, backlog: backlog, faults: ["down": false, "latency_ms": latencyMs],
            timeout: 40 + expected * 1.5,
            directory: directory, name: name)
        // The stand-in's request log (arrival and answer times, statuses), kept with --keep.
        if let log = try? setup.standIn.admin("/_admin/log") {
            _ = FileManager.default.createFile(
                atPath: directory.file("\(name)-requests.ndjson"), contents: log.body)
        }
        // Steady: from the first arrival past half the backlog (and past twice the burst, which
        // the buckets allow at once) to the last arrival.
        let steadyFrom = max(backlog / 2, 2 * Self.apiBatchBurst * Self.batchEvents)
        return LimitedResult(
            backlog: backlog, prefillRate: setup.prefill.eventsPerSecond, drain: drain,
            steadyStart: drain.samples.first { $0.events >= steadyFrom } ?? drain.first)
    }

    // MARK: - Reports

    var waitColumn: String { resume == .switch ? "backoff wait s" : "restart wait s" }

    func report(_ results: [UnlimitedResult]) -> String {
        var table = TextTable([
            "backlog", "prefill events/s", waitColumn, "drain s", "drain events/s", "requests", "duplicates",
            "CPU s relay", "CPU s stand-in", "RSS at start", "peak RSS prefill", "peak RSS drain",
        ])
        for result in results {
            table.add([
                Format.count(result.backlog), Format.rate(result.prefillRate), Format.fixed(result.drain.waitSeconds),
                Format.fixed(result.drain.seconds), Format.rate(result.drain.rate), Format.count(result.drain.accepted),
                Format.count(result.drain.duplicates), result.drain.relayCPUSeconds.map { Format.fixed($0) } ?? "n/a",
                result.drain.standInCPUSeconds.map { Format.fixed($0) } ?? "n/a",
                Format.megabytes(kilobytes: result.startKilobytes),
                Format.megabytes(kilobytes: result.prefillPeakKilobytes),
                Format.megabytes(kilobytes: result.drain.peakKilobytes),
            ])
        }
        let peakNote: String
        switch resume {
        case .switch where results.allSatisfy(\.drain.peakIsDrainOnly):
            peakNote = "peak RSS drain = VmHWM of the same relay, reset after the prefill (clear_refs)"
        case .switch:
            peakNote = "peak RSS drain = the higher of VmHWM and VmRSS polled every 20 ms (VmHWM could not be reset)"
        case .restart:
            peakNote = "peak RSS drain = VmHWM of the fresh relay that drained"
        }
        let wait =
            resume == .switch
            ? "backoff wait = from `down` off to the first arrival (the relay's backoff)"
            : "restart wait = from starting the fresh relay to the first arrival"
        return """
            Drain, rate limits off (stand-in --no-rate-limits; relay batch_rate/burst 1000000, max_in_flight 4; --resume \(resume.rawValue)); \
            targets: >= 50,000 events/s, 0 duplicates, peak RSS < 64 MB
            \(table.render())
            drain events/s = events after the first arrival at the stand-in / time from the first to the last arrival (polled every 20 ms); \
            \(wait); \(peakNote).
            """
    }

    func report(_ result: LimitedResult) -> String {
        let target = Self.apiBatchRate * Double(Self.batchEvents)
        var table = TextTable([
            "backlog", waitColumn, "drain s", "events/s overall", "steady window", "steady events/s", "of 2,500",
            "202s", "429s", "duplicates", "peak RSS drain",
        ])
        table.add([
            Format.count(result.backlog), Format.fixed(result.drain.waitSeconds), Format.fixed(result.drain.seconds),
            Format.rate(result.drain.rate),
            "\(Format.count(result.steadyEvents)) ev / \(Format.fixed(result.steadySeconds)) s",
            Format.rate(result.steadyRate), Format.percent(result.steadyRate / target), Format.count(result.drain.accepted),
            Format.count(result.drain.tooManyRequests), Format.count(result.drain.duplicates),
            Format.megabytes(kilobytes: result.drain.peakKilobytes),
        ])
        return """
            Drain under the API's limits (stand-in defaults: batch 5/s burst 20; relay defaults; latency_ms \(latencyMs); --resume \(resume.rawValue)); \
            targets: steady >= 95 % of 2,500 events/s, 0 × 429
            \(table.render())
            steady = from the first arrival at or past \(Format.count(result.steadyStart.events)) events (half the backlog, past the burst) \
            to the last; overall = from the first arrival, burst included.
            """
    }
}
