import Foundation
import RelayTestKit
import SQLiteSupport
import Synchronization
import Testing

@testable import MillimetricRelay

/// SPEC §4–§5 against the real daemon binary.
@Suite struct IngestTests {
    static func event(_ id: String, _ extra: String = "") -> String {
        #"{"event":"page","event_id":"\#(id)","user_id":"u1"\#(extra)}"#
    }

    @Test func pipelinedEventsOnSeveralConnectionsGetOneAckEachInOrder() async throws {
        let relay = try RelayProcess()
        defer { relay.terminate() }
        let connections = 4
        let perConnection = 3_000
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<connections {
                group.addTask {
                    let ids = (0..<perConnection).map { "c\(c)-\($0)" }
                    let acks = try relay.send(ids.map { Self.event($0) })
                    #expect(acks.count == perConnection)
                    for (ack, id) in zip(acks, ids) where ack != #"{"ok":true,"event_id":"\#(id)"}"# {
                        Issue.record("ack out of order or wrong: expected \(id), got \(ack)")
                        break
                    }
                }
            }
            try await group.waitForAll()
        }
        let stored = try relay.queuedEventIDs()
        #expect(stored.count == connections * perConnection)
        #expect(stored.values.allSatisfy { $0 == 1 })
    }

    @Test func everyBadInputGetsItsCodeAndTheConnectionKeepsWorking() throws {
        let relay = try RelayProcess()
        defer { relay.terminate() }
        var bytes: [UInt8] = []
        func line(_ text: String) { bytes += Array(text.utf8) + [0x0A] }
        line(Self.event("ok-1"))
        line("not json")
        line("[1,2,3]")
        bytes += Array(#"{"event":""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8) + [0x0A]  // not UTF-8
        line(#"{"event":"x","properties":[]}"#)
        line(#"{"event":"\#(String(repeating: "a", count: 70_000))"}"#)  // over 64 KiB
        line("")  // ignored, no ack
        line("   \t ")  // ignored, no ack
        bytes += Array(Self.event("ok-crlf").utf8) + [0x0D, 0x0A]  // \r\n tolerated
        line(#"{"type":"forget","user_id":"u1"}"#)
        line(#"{"type":"identify","user_id":"u1"}"#)
        line(#"{"event":"x","country":"FR"}"#)
        bytes += Array(Self.event("ok-last").utf8)  // last line without \n, then half-close
        let acks = try RelayConnection(path: relay.socketPath).exchange(bytes)
        let decoded = try acks.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let codes = decoded.map { ($0["ok"] as? Bool == true) ? "ok" : ($0["error"] as? String ?? "?") }
        #expect(codes == ["ok", "invalid_json", "invalid_payload", "invalid_json", "invalid_payload", "line_too_long", "ok", "ok", "invalid_payload", "ok", "ok"])
        #expect(decoded[4]["message"] as? String == "properties: must be a JSON object or null, not an array")
        #expect(decoded[7]["purged"] as? Int == 2)  // ok-1 and ok-crlf belonged to u1
        #expect((decoded[9]["warnings"] as? [String])?.first == "country: derived by the API, ignored")
        #expect(decoded[10]["event_id"] as? String == "ok-last")
        #expect(try relay.queuedEventIDs()["ok-last"] == 1)
    }

    @Test func aClientThatDoesNotReadItsAcksIsSlowedDownNotAnsweredWithLostAcks() throws {
        let relay = try RelayProcess()
        defer { relay.terminate() }
        let connection = try RelayConnection(path: relay.socketPath)
        let descriptor = connection.client.descriptor
        // Far more than the daemon buffers for one connection (a few thousand unacked lines,
        // 256 KiB of acks, the socket buffers): it must stop reading long before the end.
        let total = 100_000
        let bytes = Array(((0..<total).map { Self.event("bp-\($0)") }.joined(separator: "\n") + "\n").utf8)

        // Write without reading a single ack, never blocking. Slowed down means the socket stops
        // taking bytes and stays full: a poll for writability that runs out is the proof. (A
        // daemon that kept reading, buffering acks without bound, would free the socket within
        // milliseconds, and all the lines would go through.)
        let flags = fcntl(descriptor, F_GETFL)
        _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
        var offset = 0
        var stalled = false
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written > 0 {
                offset += written
                continue
            }
            if written < 0 && errno == EINTR { continue }
            try #require(written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK), "send failed: errno \(errno)")
            var waiting = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            if poll(&waiting, 1, 3_000) == 0 {
                stalled = true
                break
            }
        }
        #expect(stalled, "the daemon took all \(total) lines without a single ack being read: no backpressure")
        #expect(offset < bytes.count)

        // Reading the acks lets the daemon go on: the rest is taken and every line gets its ack,
        // in order.
        _ = fcntl(descriptor, F_SETFL, flags)
        let acks = try connection.exchange(Array(bytes[offset...]), halfClose: true)
        #expect(acks.count == total)
        let wrong = acks.indices.first { acks[$0] != #"{"ok":true,"event_id":"bp-\#($0)"}"# }
        #expect(wrong == nil, "ack \(wrong ?? -1) is \(wrong.map { acks[$0] } ?? "")")
    }

    @Test func aClientThatHalfClosesAndReadsSlowlyStillGetsEveryAck() throws {
        let relay = try RelayProcess()
        defer { relay.terminate() }
        let client = try IngestClient(path: relay.socketPath)
        let count = Mutex(0)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            client.readLines { _ in
                let n = count.withLock { value -> Int in
                    value += 1
                    return value
                }
                if n % 500 == 0 { usleep(20_000) }  // a slow reader: the relay's acks queue up
            }
            done.signal()
        }
        client.write(Array((0..<25_000).map { Self.event("slow-\($0)") }.joined(separator: "\n").utf8) + [0x0A])
        client.finishWriting()
        #expect(done.wait(timeout: .now() + 60) == .success)
        #expect(count.withLock { $0 } == 25_000)
    }

    @Test func everyAckedEventSurvivesKill9ExactlyOnce() throws {
        let relay = try RelayProcess()
        var acked: [String] = []
        // Several rounds: stream events, kill -9 right after a run of acks, restart.
        for round in 0..<3 {
            let ids = (0..<20_000).map { "k\(round)-\($0)" }
            let client = try IngestClient(path: relay.socketPath)
            let received = Mutex<[String]>([])
            let done = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                client.readLines { line in
                    let count = received.withLock { acks -> Int in
                        acks.append(line)
                        return acks.count
                    }
                    if count == 2_000 { relay.kill9() }
                }
                done.signal()
            }
            client.write(Array(ids.map { Self.event($0) }.joined(separator: "\n").utf8) + [0x0A])
            client.finishWriting()
            done.wait()
            for ack in received.withLock({ $0 }) where ack.hasPrefix(#"{"ok":true"#) {
                let object = try JSONSerialization.jsonObject(with: Data(ack.utf8)) as? [String: Any]
                acked.append(object?["event_id"] as? String ?? "")
            }
            relay.kill9()
            try relay.start()
        }
        relay.terminate()
        let stored = try relay.queuedEventIDs()
        #expect(acked.count >= 6_000)
        let missing = acked.filter { stored[$0] == nil }
        #expect(missing.isEmpty, "acked but lost: \(missing.prefix(5))")
        #expect(stored.values.allSatisfy { $0 == 1 }, "an event is stored twice")
    }

    @Test func theOutboxCapRefusesNewLinesAndKeepsEverythingStored() throws {
        // The API is unreachable, so nothing leaves; the cap is 20 KB of event JSON.
        let relay = try RelayProcess(environment: ["MILLIMETRIC_RELAY_MAX_OUTBOX_BYTES": "20000"])
        defer { relay.terminate() }
        let ids = (0..<400).map { "cap-\($0)" }
        let acks = try relay.send(ids.map { Self.event($0) })
        let ok = acks.filter { $0.hasPrefix(#"{"ok":true"#) }.count
        let full = acks.filter { $0.contains(#""error":"outbox_full""#) }.count
        #expect(ok > 50 && ok < 400)
        #expect(ok + full == 400)
        #expect(acks.last?.contains("max_outbox_bytes") == true)
        let status = try relay.status()
        #expect(status["queued_events"] as? Int == ok)
        #expect((status["queued_bytes"] as? Int ?? 0) <= 20_000)
        // A forget is still accepted when full: erasure must not wait for space.
        #expect(try relay.send([#"{"type":"forget","user_id":"nobody"}"#]).first?.hasPrefix(#"{"ok":true"#) == true)
    }

    @Test(arguments: [
        ("pk_live_0123456789_abcdefghijkl", "publishable"), ("rk_live_0123456789_abcdefghijkl", "read-only"),
        ("sk_live", "malformed"),
    ])
    func aKeyThatIsNotAServerKeyExits78WithoutShowingIt(_ key: String, _ word: String) throws {
        let relay = try RelayProcess(key: key, start: false)
        let (status, output) = try relay.runToExit()
        #expect(status == 78)
        #expect(output.contains(word))
        if key.count > 12 { #expect(!output.contains(key)) }
        let (checkStatus, checkOutput) = try relay.runCLI(["check-config", "--state-dir", relay.stateDirectory])
        #expect(checkStatus == 78)
        if key.count > 12 { #expect(!checkOutput.contains(key)) }
    }

    @Test func theKeyAppearsInNoLogLineOrStatus() throws {
        let key = "sk_live_supersecretvalue_0123456789wxyz"
        let relay = try RelayProcess(key: key, arguments: ["--log-level", "trace"])
        _ = try relay.send([Self.event("k1")])
        let (_, check) = try relay.runCLI(["check-config", "--state-dir", relay.stateDirectory])
        #expect(check.contains("sk_live_…wxyz"))
        let status = try relay.runCLI(["status", "--state-dir", relay.stateDirectory]).1
        relay.terminate()
        for text in [relay.allOutput, check, status] {
            #expect(!text.contains("supersecretvalue"))
        }
    }

    @Test func aSecondDaemonOnTheSameSocketOrStateExits75() throws {
        let relay = try RelayProcess()
        defer { relay.terminate() }
        // Same socket, other state directory: the live socket is not taken over.
        let second = try RelayProcess(start: false)
        second.arguments = ["--socket", relay.socketPath]
        let (status, output) = try second.runToExit()
        #expect(status == 75)
        #expect(output.contains("already serves"))
        // Same state directory, other socket.
        let third = try RelayProcess(start: false)
        third.arguments = ["--state-dir", relay.stateDirectory]
        #expect(try third.runToExit().status == 75)
        // The first one still works.
        #expect(try relay.send([Self.event("still-1")]).first?.hasPrefix(#"{"ok":true"#) == true)
    }

    @Test func aStaleSocketFileIsReplaced() throws {
        let relay = try RelayProcess()
        relay.kill9()  // leaves the socket file behind
        #expect(FileManager.default.fileExists(atPath: relay.socketPath))
        try relay.start()
        #expect(try relay.send([Self.event("after-stale")]).first?.hasPrefix(#"{"ok":true"#) == true)
        #expect(relay.terminate() == 0)
        #expect(!FileManager.default.fileExists(atPath: relay.socketPath))
    }

    @Test func aCorruptOrForeignDatabaseIsRefusedWith78AndLeftUntouched() throws {
        for content in [Data(repeating: 0x42, count: 8_192), Data()] {
            let relay = try RelayProcess(start: false)
            try FileManager.default.createDirectory(atPath: relay.stateDirectory, withIntermediateDirectories: true)
            if content.isEmpty {
                // A foreign SQLite database: valid, but not ours.
                let foreign = try SQLiteConnection(path: relay.databasePath, mode: .readWriteCreate)
                try foreign.execute("CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers(name) VALUES ('x')")
                try foreign.close()
            } else {
                _ = FileManager.default.createFile(atPath: relay.databasePath, contents: content)
            }
            let before = try Data(contentsOf: URL(fileURLWithPath: relay.databasePath))
            let (status, output) = try relay.runToExit()
            #expect(status == 78)
            #expect(output.contains("not a usable millimetric-relay outbox"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: relay.databasePath)) == before)
        }
    }

    /// SPEC §4/§8: at SIGTERM every line the daemon read gets exactly one answer, `ok` (and
    /// then it is delivered after a restart) or `shutting_down`. Producers pipeline bursts on
    /// many connections, so that bursts arrive while the daemon quiesces; a connection that ends
    /// cleanly (no ECONNRESET: the daemon read every byte) must have an answer for every line.
    @Test func atSigtermEveryLineTheDaemonReadIsAnsweredAndEveryOkIsDeliveredAfterARestart() throws {
        let relay = try RelayProcess()  // no API yet: what is acked stays queued
        let connections = 16
        let burst = 50
        let bursts = Atomic<Int>(0)
        let clients = try (0..<connections).map { _ in try WindowedClient(path: relay.socketPath) }
        let finished = DispatchSemaphore(value: 0)
        for (c, client) in clients.enumerated() {
            Thread.detachNewThread {
                client.run(burst: burst, window: 2, line: { Self.event("t\(c)-\($0)") }) {
                    bursts.add(1, ordering: .relaxed)
                }
                finished.signal()
            }
        }
        // SIGTERM while every connection is busy pipelining.
        #expect(RelayProcess.eventually(timeout: .seconds(30)) { bursts.load(ordering: .relaxed) >= connections * 4 })
        relay.signal(SIGTERM)
        for _ in clients {
            #expect(finished.wait(timeout: .now() + 60) == .success, "a connection did not end after SIGTERM")
        }
        #expect(relay.terminate() == 0)

        var okIDs: [String] = []
        var refused = 0
        for (c, client) in clients.enumerated() {
            #expect(client.answers.count <= client.linesWritten)
            for (index, answer) in client.answers.enumerated() {
                let object = try #require(JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any])
                if object["ok"] as? Bool == true {
                    #expect(object["event_id"] as? String == "t\(c)-\(index)", "answers out of order: line \(index) got \(answer)")
                    okIDs.append("t\(c)-\(index)")
                } else {
                    #expect(object["error"] as? String == "shutting_down", "\(answer)")
                    refused += 1
                }
            }
            switch client.end {
            case .clean:
                // The daemon read everything written: every line must have had its answer.
                #expect(client.answers.count == client.linesWritten,
                        "connection \(c): the daemon read \(client.linesWritten) lines and answered \(client.answers.count)")
            case .reset:
                break  // bytes were left unread: only the answers given can be checked
            case .failed(let code):
                Issue.record("connection \(c) ended with errno \(code)")
            case nil:
                Issue.record("connection \(c) did not end")
            }
        }
        #expect(okIDs.count >= connections * 4 * burst)

        // Every ok is on disk, once; after a restart against the API, every one is delivered.
        let stored = try relay.queuedEventIDs()
        let lost = okIDs.filter { stored[$0] != 1 }
        #expect(lost.isEmpty, "acked but not stored exactly once: \(lost.prefix(5))")
        let api = try StandInProcess(arguments: ["--no-rate-limits"])
        relay.environment["MILLIMETRIC_HOST"] = api.baseURL
        try relay.start()
        defer { relay.terminate() }
        let expected = Set(okIDs)
        var delivered = Set<String>()
        let all = try RelayProcess.eventually(timeout: .seconds(60)) {
            delivered = Set(try api.log().filter { ($0["status"] as? Int).map { (200...299).contains($0) } ?? false }
                .flatMap { ($0["event_ids"] as? [Any] ?? []).compactMap { $0 as? String } })
            return expected.isSubset(of: delivered)
        }
        #expect(all, "\(expected.subtracting(delivered).count) acked events were not delivered after the restart")
    }
}
