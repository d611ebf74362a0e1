import Foundation
import RelayTestKit
import SQLiteSupport
import Synchronization
import Testing

@testable import MillimetricRelay

#if canImport(Glibc)
import Glibc
#endif

/// `millimetric-relay import` (issue 16) with the real daemon and the API stand-in: rejects,
/// crash and resume, compressed input, stdin, and live events ahead of a backfill.
@Suite struct ImportTests {
    /// `count` track events without event_id, numbered from `from`.
    static func lines(_ count: Int, from: Int = 0) -> [String] {
        (from..<from + count).map { #"{"event":"past","user_id":"u\#($0 % 13)","timestamp":"2025-01-01T00:00:00Z","properties":{"n":\#($0)}}"# }
    }

    /// The ids `import` gives the lines of `content` that have none (what ImportEventID derives).
    static func expectedIDs(_ content: String) -> [String] {
        var sha = SHA1()
        var ids: [String] = []
        for (index, line) in content.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            sha.update(Array(line.utf8) + [0x0A])
            ids.append(ImportEventID.make(digest: sha.finish(), line: index + 1))
        }
        return ids
    }

    static func write(_ content: String, in relay: RelayProcess, name: String) throws -> String {
        let path = relay.directory.appendingPathComponent(name).path
        try Data(content.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func runImport(_ relay: RelayProcess, _ arguments: [String], stdin: String? = nil) throws -> (Int32, String) {
        try relay.runCLI(["import", "--socket", relay.socketPath] + arguments, stdin: stdin)
    }

    /// Imports a file that was imported whole before: it resumes after its last line and sends nothing.
    /// Writes `content` to events.ndjson, compresses it with `tool` (which keeps the plain file
    /// and adds `suffix`) and imports the compressed file, which must take all 500 lines.
    func importCompressed(_ content: String, _ relay: RelayProcess, _ tool: String, _ options: [String], suffix: String) throws -> String {
        let plain = try Self.write(content, in: relay, name: "events.ndjson")
        let (toolStatus, toolOutput) = try RelayProcess.runCLIProcess(tool, options + [plain])
        try #require(toolStatus == 0, "\(toolOutput)")
        let (status, output) = try runImport(relay, [plain + suffix])
        #expect(status == 0, "\(output)")
        #expect(output.contains("read 500 lines, accepted 500, refused 0"), "\(output)")
        return plain + suffix
    }

    func expectARerunSendsNothing(_ relay: RelayProcess, _ file: String, lines: Int) throws {
        let (status, output) = try runImport(relay, [file])
        #expect(status == 0, "\(output)")
        #expect(output.contains("resuming after line \(lines)"), "\(output)")
        #expect(output.contains("accepted 0"), "\(output)")
    }

    /// Starts `import` without waiting for it.
    func startImport(_ relay: RelayProcess, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = try RelayProcess.executableURL()
        process.arguments = ["import", "--socket", relay.socketPath] + arguments
        process.environment = relay.environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func progressLine(_ path: String) -> Int {
        guard let data = FileManager.default.contents(atPath: path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return 0 }
        return object["line"] as? Int ?? 0
    }

    @Test func refusedLinesGoToTheRejectsFileWithTheirNumberAndTheRelaysError() throws {
        let relay = try RelayProcess()
        defer { relay.terminate() }
        let bad = [#"{"event":"ok-1"}"#, #"{not json"#, "", #"{"event":"ok-2","event_id":"own-id"}"#, #"{"user_id":"no event"}"#, "   ", #"{"event":"ok-3"}"#]
        let file = try Self.write(bad.joined(separator: "\n") + "\n", in: relay, name: "bad.ndjson")
        let (status, output) = try runImport(relay, [file])
        #expect(status == 1, "\(output)")
        #expect(output.contains("read 7 lines, accepted 3, refused 2"), "\(output)")

        // What the relay answers to the same lines on a connection of its own.
        let acks = try relay.send([bad[1], bad[4]])
        let members = acks.map { String($0.dropFirst(#"{"ok":false,"#.count).dropLast()) }
        let expected = #"{"line":2,\#(members[0]),"input":"{not json"}"# + "\n"
            + #"{"line":5,\#(members[1]),"input":"{\"user_id\":\"no event\"}"}"# + "\n"
        let rejects = try String(contentsOfFile: file + ".rejects.ndjson", encoding: .utf8)
        #expect(rejects == expected)

        // The three good lines are in the backfill lane, with their own id or a derived one.
        let connection = try SQLiteConnection(path: relay.databasePath, mode: .readOnly)
        defer { try? connection.close() }
        let statement = try connection.prepare("SELECT event_id FROM events WHERE seq < 0 ORDER BY seq")
        var ids: [String] = []
        while try statement.step() { ids.append(statement.text(at: 0) ?? "") }
        var sha = SHA1()
        var derived: [String] = []
        for (index, line) in bad.enumerated() {
            sha.update(Array(line.utf8) + [0x0A])
            if index == 0 || index == 6 { derived.append(ImportEventID.make(digest: sha.finish(), line: index + 1)) }
        }
        #expect(ids == [derived[0], "own-id", derived[1]])
    }

    /// Refused lines far apart in a long input, past many of the importer's writes and the
    /// points where it lets go of acknowledged lines' texts: each rejects record still quotes
    /// its own line.
    @Test func refusedLinesLateInALongInputQuoteTheirOwnText() throws {
        let relay = try RelayProcess()
        defer { relay.terminate() }
        var lines = Self.lines(12_000)
        let refusedAt = [1, 2, 4_097, 4_098, 8_191, 9_000, 11_999, 12_000]
        for number in refusedAt { lines[number - 1] = #"{"user_id":"no event \#(number)"}"# }
        let file = try Self.write(lines.joined(separator: "\n") + "\n", in: relay, name: "late-rejects.ndjson")
        let (status, output) = try runImport(relay, ["--window", "5000", file])
        #expect(status == 1, "\(output)")
        #expect(output.contains("read 12000 lines, accepted 11992, refused 8"), "\(output)")
        let members = try relay.send([lines[0]]).map { String($0.dropFirst(#"{"ok":false,"#.count).dropLast()) }[0]
        let expected = refusedAt.map { #"{"line":\#($0),\#(members),"input":"{\"user_id\":\"no event \#($0)\"}"}"# + "\n" }.joined()
        let rejects = try String(contentsOfFile: file + ".rejects.ndjson", encoding: .utf8)
        #expect(rejects == expected)
    }

    /// A window far smaller than the input: the sender waits for acks again and again, and
    /// every line is stored once, in order (a window of one waits after every line).
    @Test(arguments: [1, 7])
    func aSmallWindowWaitsForAcksAndStoresEveryLineInOrder(window: Int) throws {
        let relay = try RelayProcess()
        defer { relay.terminate() }
        let content = Self.lines(300).joined(separator: "\n") + "\n"
        let file = try Self.write(content, in: relay, name: "small-window.ndjson")
        let (status, output) = try runImport(relay, ["--window", "\(window)", file])
        #expect(status == 0, "\(output)")
        #expect(output.contains("read 300 lines, accepted 300, refused 0"), "\(output)")
        let connection = try SQLiteConnection(path: relay.databasePath, mode: .readOnly)
        defer { try? connection.close() }
        let statement = try connection.prepare("SELECT event_id FROM events WHERE seq < 0 ORDER BY seq")
        var ids: [String] = []
        while try statement.step() { ids.append(statement.text(at: 0) ?? "") }
        #expect(ids == Self.expectedIDs(content))
    }

    @Test func aHelloFirstLinePutsTheConnectionInTheBackfillLane() throws {
        let relay = try RelayProcess()
        defer { relay.terminate() }
        let acks = try relay.send([#"{"type":"hello","lane":"backfill"}"#, #"{"event":"old","event_id":"b-1"}"#, #"{"type":"hello","lane":"backfill"}"#])
        #expect(acks.count == 3)
        #expect(acks.first == #"{"ok":true,"lane":"backfill"}"#)
        #expect(acks[1].hasPrefix(#"{"ok":true,"event_id":"b-1""#))
        // Only a first line is a hello; later, it is an event of an unknown type.
        #expect(acks[2].hasPrefix(#"{"ok":false,"error":"invalid_payload""#))
        let badLane = try relay.send([#"{"type":"hello","lane":"slow"}"#, #"{"event":"new","event_id":"l-1"}"#])
        #expect(badLane.first?.hasPrefix(#"{"ok":false,"error":"invalid_payload","message":"lane: must be"#) == true, "\(badLane)")
        let plain = try relay.send([#"{"event":"new","event_id":"l-2"}"#])
        #expect(plain.first?.hasPrefix(#"{"ok":true"#) == true)

        let connection = try SQLiteConnection(path: relay.databasePath, mode: .readOnly)
        defer { try? connection.close() }
        #expect(try connection.scalarText("SELECT group_concat(event_id || ':' || (seq < 0), ',') FROM (SELECT * FROM events ORDER BY seq)") == "b-1:1,l-1:0,l-2:0")
        #expect(try relay.status()["backfill_events"] as? Int == 1)
    }

    @Test func killedImporterAndDaemonResumeAndTheAPISeesEveryEventOnce() throws {
        let api = try StandInProcess()
        let relay = try RelayProcess(host: api.baseURL)
        defer { relay.terminate() }
        let count = 40_000
        let content = Self.lines(count).joined(separator: "\n") + "\n"
        let file = try Self.write(content, in: relay, name: "history.ndjson")
        let progress = file + ".import-progress"

        // kill -9 the importer once it has made some progress …
        let first = try startImport(relay, [file])
        #expect(RelayProcess.eventually(timeout: .seconds(60)) { Self.progressLine(progress) > 0 })
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let afterFirst = Self.progressLine(progress)

        // … then run it again and kill -9 the daemon under it.
        let second = try startImport(relay, [file])
        #expect(RelayProcess.eventually(timeout: .seconds(60)) { Self.progressLine(progress) > afterFirst })
        relay.kill9()
        second.waitUntilExit()
        #expect(second.terminationStatus == 69)
        try relay.start()

        let (status, output) = try runImport(relay, [file])
        #expect(status == 0, "\(output)")
        #expect(output.contains("resuming after line"), "\(output)")
        #expect(output.contains("accepted"), "\(output)")

        let expected = Set(Self.expectedIDs(content))
        #expect(expected.count == count)
        #expect(try RelayProcess.eventually(timeout: .seconds(120)) { (try api.stats()["events"] as? Int) == count })
        #expect(try DeliveryTests.receivedIDs(api) == expected)
        #expect(try RelayProcess.eventually { (try relay.status()["queued_events"] as? Int) == 0 })
    }

    @Test func aGzipFileAndStdinImportTheSameEventsAsThePlainFile() throws {
        let relay = try RelayProcess()
        defer { relay.terminate() }
        let content = Self.lines(500).joined(separator: "\n") + "\n"
        let compressed = try importCompressed(content, relay, "/bin/gzip", ["-k"], suffix: ".gz")
        let (stdinStatus, stdinOutput) = try runImport(relay, ["-"], stdin: content)
        #expect(stdinStatus == 0, "\(stdinOutput)")
        #expect(stdinOutput.contains("read 500 lines, accepted 500, refused 0"), "\(stdinOutput)")

        // Both gave every event the id the content determines: each id twice in the queue.
        let queued = try relay.queuedEventIDs()
        #expect(Set(queued.keys) == Set(Self.expectedIDs(content)))
        #expect(queued.values.allSatisfy { $0 == 2 })
        // And a re-run of the finished .gz sends nothing.
        try expectARerunSendsNothing(relay, compressed, lines: 500)
    }

    @Test func aZstandardFileImportsTheSameEventsAsThePlainFile() throws {
        // .zst goes through a `zstd -dc` child process, as .gz through gzip (CI installs zstd).
        let relay = try RelayProcess()
        defer { relay.terminate() }
        let content = Self.lines(500).joined(separator: "\n") + "\n"
        let compressed = try importCompressed(content, relay, "/usr/bin/zstd", ["-q", "-k"], suffix: ".zst")
        // The ids are the plain content's: the digest covers the decompressed lines.
        let queued = try relay.queuedEventIDs()
        #expect(Set(queued.keys) == Set(Self.expectedIDs(content)))
        #expect(queued.values.allSatisfy { $0 == 1 })
        // A re-run of the finished file sends nothing.
        try expectARerunSendsNothing(relay, compressed, lines: 500)
        // A damaged .zst is a decompressor failure (exit 64), not a short import that looks whole.
        let damaged = try Self.write("not zstandard data\n", in: relay, name: "damaged.ndjson.zst")
        let (damagedStatus, damagedOutput) = try runImport(relay, [damaged])
        #expect(damagedStatus == 64, "\(damagedOutput)")
        #expect(damagedOutput.contains("decompressor exited"), "\(damagedOutput)")
    }

    @Test func aLiveEventDuringABackfillIsDeliveredWithinTwoSeconds() throws {
        let api = try StandInProcess()
        // The API is down while the backfill is imported, so all of it is queued when delivery
        // starts (SIGHUP ends the backoff at once).
        _ = try api.setFaults(["down": true])
        let relay = try RelayProcess(host: api.baseURL)
        defer { relay.terminate() }
        // 25,000 backfill events: ten seconds of the key's 2,500 events/s.
        let file = try Self.write(Self.lines(25_000).joined(separator: "\n") + "\n", in: relay, name: "backlog.ndjson")
        let (status, output) = try runImport(relay, [file])
        try #require(status == 0, "\(output)")
        _ = try api.setFaults(["down": false])
        relay.signal(SIGHUP)
        #expect(try RelayProcess.eventually(timeout: .seconds(30)) { (try api.stats()["events"] as? Int ?? 0) >= 2_500 })

        let connection = try SQLiteConnection(path: relay.databasePath, mode: .readOnly)
        defer { try? connection.close() }
        let sent = ContinuousClock.now
        let ack = try relay.send([#"{"event":"live","event_id":"live-during-backfill"}"#])
        #expect(ack.first?.hasPrefix(#"{"ok":true"#) == true)
        // Delivered when its row leaves the outbox: that happens only after the API's 2xx.
        #expect(try RelayProcess.eventually(timeout: .seconds(30)) {
            try connection.scalarInt64("SELECT count(*) FROM events WHERE event_id = 'live-during-backfill'") == 0
        })
        let latency = ContinuousClock.now - sent
        let backlog = try connection.scalarInt64("SELECT count(*) FROM events WHERE seq < 0") ?? 0
        #expect(latency < .seconds(2), "a live event took \(latency) behind a backfill")
        #expect(backlog > 5_000, "the backfill was (almost) delivered already; the test proved nothing")
        #expect(try api.events().contains { $0["event_id"] as? String == "live-during-backfill" })
    }

    /// Queues `backfill` (through a backfill-lane connection) and then `live` while the API is
    /// down, and restarts the daemon once the live rows are older than flush_interval: the
    /// restarted drainer reads from the start of both lanes, so its first batch is the live run
    /// topped up with backfill rows. `faults` are set before the restart. Returns the API log's
    /// length at the restart.
    func queueBothLanes(_ relay: RelayProcess, _ api: StandInProcess, backfill: [String], live: [String], faults: [String: Any]) throws -> Int {
        _ = try api.setFaults(["down": true])
        let acks = try relay.send([#"{"type":"hello","lane":"backfill"}"#] + backfill) + relay.send(live)
        #expect(acks.allSatisfy { $0.hasPrefix(#"{"ok":true"#) }, "\(acks)")
        Thread.sleep(forTimeInterval: 1.2)
        relay.terminate()
        _ = try api.setFaults(faults)
        let logged = try api.log().count
        try relay.start()
        return logged
    }

    @Test func aLiveBatchIsToppedUpWithBackfillAndASplitDeadLettersTheRefusedBackfillRow() throws {
        let api = try StandInProcess()
        let relay = try RelayProcess(host: api.baseURL)
        defer { relay.terminate() }
        let backfillIDs = (0..<10).map { "b-\($0)" }
        let backfill = backfillIDs.map { id in
            let marker = id == "b-5" ? "poison" : "fine"
            return #"{"event":"past","event_id":"\#(id)","properties":{"p":"\#(marker)"}}"#
        }
        let logged = try queueBothLanes(
            relay, api, backfill: backfill, live: [#"{"event":"now","event_id":"live-1"}"#], faults: ["down": false, "reject_event_marker": "poison"])

        #expect(try RelayProcess.eventually(timeout: .seconds(30)) { try relay.queuedEventIDs().isEmpty })
        let log = Array(try api.log().dropFirst(logged))
        // One request for both lanes, live rows first; the API refused it for b-5.
        let first = try #require(log.first { $0["path"] as? String == "/v1/batch" })
        #expect(ForgetTests.eventIDs(first) == ["live-1"] + backfillIDs)
        #expect(first["status"] as? Int == 400)
        // The halves settled as rows of two lanes: every other event delivered once, b-5 dead-lettered.
        let delivered = ForgetTests.accepted(log).flatMap(ForgetTests.eventIDs)
        #expect(delivered.sorted() == (["live-1"] + backfillIDs.filter { $0 != "b-5" }).sorted())
        #expect(try ForgetTests.deadLetters(relay).compactMap { $0["event_id"] as? String } == ["b-5"])
    }

    @Test func aForgetPurgesABackfillRowOfAMixedBatchWaitingForARetry() throws {
        let api = try StandInProcess()
        let relay = try RelayProcess(host: api.baseURL)
        defer { relay.terminate() }
        let backfill = (0..<10).map { #"{"event":"past","event_id":"b-\#($0)","user_id":"\#($0.isMultiple(of: 3) ? "gone" : "kept")"}"# }
        let logged = try queueBothLanes(relay, api, backfill: backfill, live: [#"{"event":"now","event_id":"live-1","user_id":"kept"}"#], faults: [:])

        // The restarted drainer tried the mixed batch and holds it for a retry.
        #expect(try RelayProcess.eventually(timeout: .seconds(10)) {
            try api.log().dropFirst(logged).contains { $0["status"] as? Int == 503 && ForgetTests.eventIDs($0).first == "live-1" && ForgetTests.userIDs($0).contains("gone") }
        })
        let forgetAck = try ForgetTests.object(try #require(try relay.send([ForgetTests.forget("gone")]).first))
        #expect(forgetAck["purged"] as? Int == 4)
        _ = try api.setFaults(["down": false])
        relay.signal(SIGHUP)

        #expect(try RelayProcess.eventually(timeout: .seconds(30)) { try relay.queuedEventIDs().isEmpty })
        let accepted = ForgetTests.accepted(try api.log()).filter { $0["path"] as? String == "/v1/batch" }
        #expect(!accepted.contains { ForgetTests.userIDs($0).contains("gone") && $0["path"] as? String != "/v1/forget" })
        #expect(Set(accepted.flatMap(ForgetTests.eventIDs)) == ["live-1", "b-1", "b-2", "b-4", "b-5", "b-7", "b-8"])
    }
}
