import Foundation
import RelayTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SPEC §4b: the API's own HTTP on the relay, called as applications call the API: the
/// documentation's curl commands verbatim, a Node.js client with `fetch`, and raw HTTP for
/// pipelining and slow clients; every answer checked, and what the stand-in receives.
@Suite struct HTTPIngestTests {
    static let key = StandInProcess.secretKey

    static func accepted(_ log: [[String: Any]]) -> [[String: Any]] {
        log.filter { ($0["status"] as? Int).map { (200...299).contains($0) } ?? false }
    }

    static func receivedIDs(_ api: StandInProcess) throws -> Set<String> {
        Set(try accepted(api.log()).flatMap { ($0["event_ids"] as? [Any] ?? []).compactMap { $0 as? String } })
    }

    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    /// The four commands of the track documentation (seeds/millimetric-track.txt), verbatim.
    static let trackCommand = #"""
        curl -X POST "$MILLIMETRIC_HOST/v1/track" \
        -H "Authorization: Bearer $MILLIMETRIC_KEY" \
        -H "Content-Type: application/json" \
        -d '{
        "event": "signup",
        "anonymous_id": "u_abc",
        "user_id": "user_42",
        "url": "https://yoursite.com/?utm_source=facebook&utm_medium=cpc&fbclid=abc",
        "properties": { "plan": "free" }
        }'
        """#
    static let identifyCommand = #"""
        curl -X POST "$MILLIMETRIC_HOST/v1/identify" \
        -H "Authorization: Bearer $MILLIMETRIC_KEY" \
        -H "Content-Type: application/json" \
        -d '{
        "anonymous_id": "u_abc",
        "user_id": "user_42",
        "traits": { "email": "matt@example.com", "plan": "pro" }
        }'
        """#
    static let batchCommand = #"""
        curl -X POST "$MILLIMETRIC_HOST/v1/batch" \
        -H "Authorization: Bearer $MILLIMETRIC_KEY" \
        -H "Content-Type: application/json" \
        -d '{
        "events": [
        { "event": "purchase", "anonymous_id": "u_1", "user_id": "user_1", "properties": { "amount_cents": 4900 } },
        { "event": "purchase", "anonymous_id": "u_2", "user_id": "user_2", "properties": { "amount_cents": 1900 } }
        ]
        }'
        """#
    static let forgetCommand = #"""
        curl -X POST "$MILLIMETRIC_HOST/v1/forget" \
        -H "Authorization: Bearer $MILLIMETRIC_KEY" \
        -H "Content-Type: application/json" \
        -d '{ "user_id": "user_42" }'
        """#

    /// Runs a documented command and returns its output (the answer's body) as an object.
    static func run(_ command: String, on relay: RelayProcess) throws -> [String: Any] {
        // The command itself is untouched: a .curlrc (as a user might have) adds the status on
        // its own line after the body.
        let home = relay.directory.appendingPathComponent("curl-home")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        try "silent\nwrite-out = \"\\n%{http_code}\"\n".write(to: home.appendingPathComponent(".curlrc"), atomically: true, encoding: .utf8)
        let (code, output) = try relay.bash(command, environment: ["CURL_HOME": home.path])
        #expect(code == 0, "\(output)")
        let lines = output.split(separator: "\n")
        let status = lines.last.map(String.init) ?? ""
        #expect(status == "202", "\(output)")
        return try object(lines.dropLast().joined(separator: "\n"))
    }

    @Test func theDocumentedCurlCommandsWorkVerbatim() throws {
        let api = try StandInProcess(arguments: ["--no-rate-limits"])
        let relay = try RelayProcess.withHTTP(host: api.baseURL)
        defer { relay.terminate() }

        let track = try Self.run(Self.trackCommand, on: relay)
        #expect(track["ok"] as? Bool == true)
        let trackID = try #require(track["event_id"] as? String)
        #expect(Set(track.keys) == ["ok", "event_id"])
        let identify = try Self.run(Self.identifyCommand, on: relay)
        #expect(identify["ok"] as? Bool == true)
        #expect(identify["event_id"] is String)
        let batch = try Self.run(Self.batchCommand, on: relay)
        let batchIDs = try #require(batch["event_ids"] as? [String])
        #expect(batchIDs.count == 2)

        // Everything reaches the API before the forget, so the forget purges nothing queued.
        #expect(try RelayProcess.eventually { try Self.receivedIDs(api).isSuperset(of: [trackID] + batchIDs) })
        #expect(try RelayProcess.eventually { try Self.accepted(api.log()).contains { $0["path"] as? String == "/v1/identify" } })
        let events = try api.events()
        let signup = try #require(events.first { $0["event_id"] as? String == trackID })
        #expect(signup["event"] as? String == "signup")
        #expect(signup["user_id"] as? String == "user_42")
        #expect(signup["url"] as? String == "https://yoursite.com/?utm_source=facebook&utm_medium=cpc&fbclid=abc")
        #expect((signup["properties"] as? [String: Any])?["plan"] as? String == "free")
        let purchases = events.filter { batchIDs.contains($0["event_id"] as? String ?? "") }
        #expect(Set(purchases.compactMap { ($0["properties"] as? [String: Any])?["amount_cents"] as? Int }) == [4900, 1900])

        let forget = try Self.run(Self.forgetCommand, on: relay)
        #expect(forget["ok"] as? Bool == true)
        #expect(forget["event_id"] is String)
        #expect(forget["purged"] as? Int == 0)
        #expect(try RelayProcess.eventually {
            try Self.accepted(api.log()).contains { $0["path"] as? String == "/v1/forget" && ($0["user_ids"] as? [String] ?? []).contains("user_42") }
        })
    }

    @Test func aForgetPurgesWhatIsStillQueuedAndSaysHowMany() throws {
        let api = try StandInProcess()
        _ = try api.setFaults(["down": true])
        let relay = try RelayProcess.withHTTP(host: api.baseURL)
        defer { relay.terminate() }
        _ = try Self.run(Self.trackCommand, on: relay)
        _ = try Self.run(Self.identifyCommand, on: relay)
        let forget = try Self.run(Self.forgetCommand, on: relay)
        #expect(forget["purged"] as? Int == 2)
    }

    /// What an SDK does: `fetch` with keep-alive (undici's default), JSON bodies, the key in
    /// the Authorization header, reading the API's answers.
    static let nodeClient = #"""
        const host = process.env.MILLIMETRIC_HOST, key = process.env.MILLIMETRIC_KEY;
        async function post(path, body) {
          const res = await fetch(host + path, { method: "POST", headers: { "Authorization": `Bearer ${key}`, "Content-Type": "application/json" }, body: JSON.stringify(body) });
          return { status: res.status, body: await res.json() };
        }
        (async () => {
          const ids = [];
          for (let i = 0; i < 50; i++) {
            const r = await post("/v1/track", { event: "node_track", anonymous_id: "a" + i, properties: { i } });
            if (r.status !== 202 || !r.body.ok) throw new Error(JSON.stringify(r));
            ids.push(r.body.event_id);
          }
          const events = Array.from({ length: 200 }, (_, i) => ({ event: "node_batch", user_id: "u" + i, timestamp: new Date().toISOString() }));
          const b = await post("/v1/batch", { events });
          if (b.status !== 202 || b.body.event_ids.length !== 200) throw new Error(JSON.stringify(b));
          ids.push(...b.body.event_ids);
          const bad = await post("/v1/track", { anonymous_id: "x" });
          console.log(JSON.stringify({ ids, bad }));
        })().catch((e) => { console.error(e); process.exit(1); });
        """#

    @Test func aNodeClientPostingWithFetchWorks() throws {
        let api = try StandInProcess(arguments: ["--no-rate-limits"])
        let relay = try RelayProcess.withHTTP(host: api.baseURL)
        defer { relay.terminate() }
        let (code, output) = try RelayProcess.node(Self.nodeClient, environment: ["MILLIMETRIC_HOST": try relay.httpBase(), "MILLIMETRIC_KEY": Self.key])
        #expect(code == 0, "\(output)")
        let result = try Self.object(output)
        let ids = try #require(result["ids"] as? [String])
        #expect(Set(ids).count == 250)
        let bad = try #require(result["bad"] as? [String: Any])
        #expect(bad["status"] as? Int == 400)
        #expect((bad["body"] as? [String: Any])?["error"] as? String == "invalid_payload")
        #expect(try RelayProcess.eventually { try Self.receivedIDs(api).isSuperset(of: ids) })
    }

    /// Four clients post as fast as they can and print each id answered 202 at once; the relay is
    /// killed -9 in the middle. Every id they got must reach the API after a restart.
    static let nodeFlood = #"""
        const host = process.env.MILLIMETRIC_HOST, key = process.env.MILLIMETRIC_KEY;
        async function client(n) {
          for (let i = 0; ; i++) {
            const batch = i % 10 === 9;
            const body = batch ? { events: Array.from({ length: 50 }, (_, j) => ({ event: "flood", user_id: `c${n}` })) } : { event: "flood", user_id: `c${n}` };
            let res;
            try {
              res = await fetch(host + (batch ? "/v1/batch" : "/v1/track"), { method: "POST", headers: { "Authorization": `Bearer ${key}`, "Content-Type": "application/json" }, body: JSON.stringify(body) });
            } catch (e) { return; }
            let answer;
            try { answer = await res.json(); } catch (e) { return; }
            if (res.status === 202) process.stdout.write((answer.event_ids || [answer.event_id]).join("\n") + "\n");
          }
        }
        Promise.all([0, 1, 2, 3].map(client)).then(() => process.exit(0));
        """#

    @Test func everyEventAnswered202SurvivesKillMinus9() throws {
        let api = try StandInProcess(arguments: ["--no-rate-limits"])
        _ = try api.setFaults(["down": true])
        let relay = try RelayProcess.withHTTP(host: api.baseURL)
        defer { relay.terminate() }
        var acked = Set<String>()
        // Three crashes, each in the middle of a flood: an answer given before its commit would
        // be lost in one of them (the window is a few milliseconds per crash).
        for round in 0..<3 {
            if round > 0 { try relay.start() }
            let flood = try NodeFlood(against: relay, output: "flood-\(round).out")
            #expect(RelayProcess.eventually(timeout: .seconds(60)) { flood.answered().count >= 1_500 })
            relay.kill9()
            flood.process.waitUntilExit()
            acked.formUnion(flood.answeredIDs())
        }
        #expect(acked.count >= 4_500)
        try relay.start()
        _ = try api.setFaults(["down": false])
        #expect(try RelayProcess.eventually(timeout: .seconds(90)) { try Self.receivedIDs(api).isSuperset(of: acked) })
        #expect(acked.subtracting(try Self.receivedIDs(api)).isEmpty)
    }
}

extension HTTPIngestTests {
    /// SIGTERM in the middle of a flood: every request read is answered (202 after its commit,
    /// or 503 shutting_down), the relay exits 0, and every id answered 202 is in the outbox.
    @Test func aStopInTheMiddleOfAFloodAnswersWhatItReadAndLosesNothing() throws {
        let relay = try RelayProcess.withHTTP(host: "http://127.0.0.1:9")
        defer { relay.terminate() }
        let flood = try NodeFlood(against: relay, output: "flood.out")
        #expect(RelayProcess.eventually(timeout: .seconds(60)) { flood.answered().count >= 1_000 })
        #expect(relay.terminate() == 0, "\(relay.allOutput.suffix(2000))")
        flood.process.waitUntilExit()
        let acked = Set(flood.answeredIDs())
        #expect(acked.count >= 1_000)
        #expect(acked.subtracting(try relay.queuedEventIDs().keys).isEmpty)
    }
}

/// `HTTPIngestTests.nodeFlood` running against a relay: four keep-alive clients posting track
/// and batch requests, each answered id printed on its own line to a file in the relay's directory.
struct NodeFlood {
    let process: Process
    let outputPath: String

    init(against relay: RelayProcess, output name: String) throws {
        outputPath = relay.directory.appendingPathComponent(name).path
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/node")
        process.arguments = ["-e", HTTPIngestTests.nodeFlood]
        process.environment = ["PATH": "/usr/bin:/bin", "MILLIMETRIC_HOST": try relay.httpBase(), "MILLIMETRIC_KEY": HTTPIngestTests.key]
        process.standardOutput = FileHandle(forWritingAtPath: outputPath)!
        try process.run()
    }

    /// Every line printed so far.
    func answered() -> [String] {
        ((try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// The ids answered 202: only complete lines count, since an id is printed whole after its 202.
    func answeredIDs() -> [String] {
        answered().filter { $0.count == 36 }
    }
}
