import ArgumentParser
import BenchmarkSupport
import Foundation
import MillimetricRelay
import RelayTestKit

/// `millimetric-relay import` into the outbox (issue 16): events/s from the first byte read to
/// the last ack, and the peak RSS of the relay and of the importer.
@main
struct ImportBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-bench",
        abstract: "Backfill import events/s into the outbox and peak RSS of the relay and the importer.",
        discussion: """
            Writes --events generated events (about 450 B each) to an NDJSON file, starts the \
            release relay with an upstream that refuses connections (so nothing drains and the \
            figure is the outbox's), runs `millimetric-relay import FILE` to its end and reports \
            events/s (wall time of the import command, resume check and summary included), the \
            relay's RSS before and its peak (VmHWM) after, and the importer's peak RSS (sampled \
            every 20 ms). By default the events carry no event_id, so the importer derives every \
            id (UUID v5); --keep-ids sends the generator's ids.
            With --deliver-seconds N (default 60; 0 skips it), a second part measures delivery of             a backfill under the API's limits: a stand-in with its default limits (batch 5/s,             burst 20) and 300 ms answers; first the latency of 10 live events (one a second)             with no backfill; then, with the stand-in down, `import` of --deliver-events; then             the stand-in up (and SIGHUP, which ends the relay's backoff) and for N seconds one             live event a second: their latency (ack to the row leaving the outbox, which             happens after the API's 2xx), the steady events/s after the first 10 s (burst)             against 2,500, and the 429s.
            Build the release binaries first: swift build -c release (in the repository root).
            """)

    @Option(help: "Events in the file.")
    var events = 1_000_000

    @Flag(help: "Keep the generated event_ids (the importer then derives none).")
    var keepIds = false

    /// The second part's options, under their own heading in --help.
    struct DeliveryPart: ParsableArguments {
        @Option(help: "Seconds of the delivery part (0: skip it).")
        var deliverSeconds = 60

        @Option(help: "Backfill events of the delivery part (enough for --deliver-seconds at 2,500/s).")
        var deliverEvents = 200_000
    }

    @OptionGroup(title: "Delivery part") var delivery: DeliveryPart

    @OptionGroup var durability: SynchronousOption

    @OptionGroup var session: BenchmarkOptions

    func run() throws {
        try BenchmarkSession.run(name: "import-bench", options: session) {
            try measure(binaries: $0, directory: $1)
            if delivery.deliverSeconds > 0 { try measureDelivery(binaries: $0, directory: $1) }
        }
    }

    func measure(binaries: Binaries, directory: TemporaryDirectory) throws {
        let file = directory.file("history.ndjson")
        let bytes = try writeFile(file)
        print("  file: \(Format.count(events)) events, \(Format.fixed(Double(bytes) / 1e6, 1)) MB\(keepIds ? "" : ", no event_id")")

        // Port 9 (discard) refuses connections: the drainer backs off, the outbox only fills.
        let relayProcess = try RelayProcess(
            executable: binaries.relay, directory: directory.path, name: "import", host: "http://127.0.0.1:9",
            settings: ["synchronous": durability.synchronous.rawValue])
        let relayStart = ProcStatus.peakRSSKilobytes(pid: relayProcess.pid)
        let start = Monotonic.nanoseconds()
        let importer = try ChildProcess(
            name: "importer", executable: binaries.relay, arguments: ["import", "--socket", relayProcess.socketPath, file],
            environment: ["PATH": "/usr/bin:/bin"], stdout: .file(directory.file("importer.out")),
            stderr: .file(directory.file("importer.err")))
        var importerPeak = 0
        while importer.isRunning {
            importerPeak = max(importerPeak, ProcStatus.peakRSSKilobytes(pid: importer.pid) ?? 0)
            Monotonic.sleep(seconds: 0.02)
        }
        let seconds = Double(Monotonic.nanoseconds() - start) / 1e9
        let status = importer.stop()
        let relayPeak = ProcStatus.peakRSSKilobytes(pid: relayProcess.pid)
        let summary = importer.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try relayProcess.stop()
        guard status == 0, summary.contains("accepted \(events),") else {
            throw TestKitError("the import failed (\(status)): \(summary)\n\(importer.stderrTail())")
        }
        print("  \(summary)")
        print()
        print("| events | MB | seconds | events/s | relay RSS before / peak | importer peak RSS |")
        print("| --- | --- | --- | --- | --- | --- |")
        print(
            "| \(Format.count(events)) | \(Format.fixed(Double(bytes) / 1e6, 1)) | \(Format.fixed(seconds, 1)) | **\(Format.rate(Double(events) / seconds))** "
                + "| \(Format.megabytes(kilobytes: relayStart)) / \(Format.megabytes(kilobytes: relayPeak)) | \(Format.megabytes(kilobytes: importerPeak)) |")
    }

    /// The delivery part (see the discussion).
    func measureDelivery(binaries: Binaries, directory: TemporaryDirectory) throws {
        print()
        let file = directory.file("deliver.ndjson")
        _ = try writeFile(file, count: delivery.deliverEvents)
        let standIn = try StandInProcess(executable: binaries.standIn, directory: directory, name: "deliver-standin", arguments: [])
        defer { standIn.stop() }
        try standIn.setFaults(["latency_ms": 300])
        let relayProcess = try RelayProcess(
            executable: binaries.relay, directory: directory.path, name: "deliver", host: standIn.baseURL,
            settings: ["synchronous": durability.synchronous.rawValue])
        defer { _ = try? relayProcess.stop() }
        let outbox = try OutboxQuery(path: relayProcess.databasePath)
        var number = 0
        func liveLatencies(count: Int) throws -> [Double] {
            var latencies: [Double] = []
            for _ in 0..<count {
                number += 1
                let id = "live-\(number)"
                let client = try IngestClient(path: relayProcess.socketPath)
                let sent = Monotonic.nanoseconds()
                client.write(Array(#"{"event":"live","event_id":"\#(id)"}"#.utf8) + [0x0A])
                client.finishWriting()
                client.readLines { _ in }
                // Live rows have positive seqs: a range scan of the live lane only.
                while try outbox.scalar("SELECT count(*) FROM events WHERE seq > 0 AND event_id = '\(id)'") > 0 {
                    Monotonic.sleep(seconds: 0.01)
                }
                latencies.append(Double(Monotonic.nanoseconds() - sent) / 1e9)
                let next = sent + 1_000_000_000
                if Monotonic.nanoseconds() < next { Monotonic.sleep(seconds: Double(next - Monotonic.nanoseconds()) / 1e9) }
            }
            return latencies
        }
        let baseline = try liveLatencies(count: 10)

        try standIn.setFaults(["down": true])
        let importer = try ChildProcess(
            name: "deliver-importer", executable: binaries.relay, arguments: ["import", "--socket", relayProcess.socketPath, file],
            environment: ["PATH": "/usr/bin:/bin"], stdout: .file(directory.file("deliver-importer.out")),
            stderr: .file(directory.file("deliver-importer.err")))
        while importer.isRunning { Monotonic.sleep(seconds: 0.05) }
        guard importer.stop() == 0 else { throw TestKitError("the import failed: \(importer.stderrTail())") }
        let before = try standIn.counters()
        try standIn.setFaults(["down": false, "latency_ms": 300])
        relayProcess.signal(SIGHUP)
        let start = Monotonic.nanoseconds()
        var steadyStart: (time: UInt64, events: Int)?
        var underBackfill: [Double] = []
        while Monotonic.nanoseconds() - start < UInt64(delivery.deliverSeconds) * 1_000_000_000 {
            underBackfill += try liveLatencies(count: 1)
            if steadyStart == nil && Monotonic.nanoseconds() - start >= 10_000_000_000 {
                steadyStart = (Monotonic.nanoseconds(), try standIn.counters().events)
            }
        }
        let after = try standIn.counters()
        let end = Monotonic.nanoseconds()
        let backlogLeft = try outbox.scalar("SELECT count(*) FROM events WHERE seq < 0")
        guard let steadyStart, backlogLeft > 0 else {
            throw TestKitError("the backfill ran out before the end (\(backlogLeft) left): raise --deliver-events")
        }
        let steadyRate = Double(after.events - steadyStart.events) / (Double(end - steadyStart.time) / 1e9)
        func summary(_ values: [Double]) -> String {
            let sorted = values.sorted()
            let median = sorted[sorted.count / 2]
            return "\(Format.fixed(median, 2)) / \(Format.fixed(sorted.last!, 2)) s"
        }
        print("| delivery, \(delivery.deliverSeconds) s | steady events/s (after 10 s) | of 2,500 | 429s | live latency median / max, no backfill | under the backfill | backfill left |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        print(
            "| 300 ms answers | **\(Format.rate(steadyRate))** | \(Format.percent(steadyRate / 2_500)) | \(after.count(status: 429) - before.count(status: 429)) "
                + "| \(summary(baseline)) | **\(summary(underBackfill))** | \(Format.count(Int(backlogLeft))) |")
    }

    /// Writes the events in slices; returns the file's size.
    func writeFile(_ path: String, count: Int? = nil) throws -> Int {
        let events = count ?? self.events
        let generator = EventGenerator(seed: 16)
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path) else { throw TestKitError("cannot write \(path)") }
        defer { try? handle.close() }
        var total = 0
        let marker = Array(#","event_id":""#.utf8)
        for start in stride(from: 0, to: events, by: 10_000) {
            var slice = generator.batch(client: 0, sequence: start..<min(events, start + 10_000)).bytes
            if !keepIds {
                // Each id is 36 characters and a closing quote after the marker.
                var out: [UInt8] = []
                out.reserveCapacity(slice.count)
                var index = 0
                while index < slice.count {
                    if slice[index] == marker[0], index + marker.count + 37 <= slice.count, Array(slice[index..<index + marker.count]) == marker {
                        index += marker.count + 37
                        continue
                    }
                    out.append(slice[index])
                    index += 1
                }
                slice = out
            }
            try handle.write(contentsOf: slice)
            total += slice.count
        }
        return total
    }
}
