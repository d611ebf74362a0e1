import Foundation
import RelayTestKit
import SQLiteSupport
import Synchronization
import Testing

@testable import MillimetricRelay

/// SPEC §6 with the real daemon and the API stand-in.
@Suite struct DeliveryTests {
    static func events(_ prefix: String, _ count: Int, user: (Int) -> String = { "u\($0 % 7)" }) -> [String] {
        (0..<count).map { #"{"event":"page","event_id":"\#(prefix)-\#($0)","user_id":"\#(user($0))","properties":{"n":\#($0)}}"# }
    }

    static func okIDs(_ acks: [String]) -> [String] {
        acks.compactMap { ack in
            guard ack.hasPrefix(#"{"ok":true"#) else { return nil }
            return (try? JSONSerialization.jsonObject(with: Data(ack.utf8)) as? [String: Any])?["event_id"] as? String
        }
    }

    static func receivedIDs(_ api: StandInProcess) throws -> Set<String> {
        Set(try api.events().compactMap { $0["event_id"] as? String })
    }

    @Test func tenThousandEventsArriveExactlyOnceWithoutA429() throws {
        let api = try StandInProcess()
        let relay = try RelayProcess(host: api.baseURL)
        defer { relay.terminate() }
        var acked: [String] = []
        for part in 0..<4 {
            acked += Self.okIDs(try relay.send(Self.events("ten\(part)", 2_500)))
        }
        #expect(acked.count == 10_000)
        #expect(try RelayProcess.eventually { (try api.stats()["events"] as? Int) == 10_000 })
        let stats = try api.stats()
        #expect(stats["duplicates"] as? Int == 0)
        #expect((stats["by_status"] as? [String: Int])?["429"] == nil)
        #expect(try Self.receivedIDs(api) == Set(acked))
        #expect(try RelayProcess.eventually { (try relay.status()["queued_events"] as? Int) == 0 })
        #expect(try relay.status()["delivered_total"] as? Int == 10_000)
    }

    @Test func anOutageWithSeveralFailedRetriesLosesNothing() throws {
        let api = try StandInProcess()
        _ = try api.setFaults(["down": true])
        let relay = try RelayProcess(host: api.baseURL)
        defer { relay.terminate() }
        let acked = Self.okIDs(try relay.send(Self.events("down", 1_000)))
        #expect(acked.count == 1_000)
        // The outage lasts until the relay has been refused four times (backing off 0.5, 1 and
        // 2 s in between, with jitter): retries go on, nothing is dropped meanwhile.
        #expect(try RelayProcess.eventually(timeout: .seconds(30)) {
            ((try api.stats()["by_status"] as? [String: Int])?["503"] ?? 0) >= 4
        })
        let status = try relay.status()
        #expect(status["queued_events"] as? Int == 1_000)
        #expect(status["upstream_state"] as? String == "backing_off")
        #expect((status["last_error"] as? String)?.contains("503") == true)
        _ = try api.setFaults(["down": false])
        #expect(try RelayProcess.eventually(timeout: .seconds(45)) { (try api.stats()["events"] as? Int) == 1_000 })
        #expect(try Self.receivedIDs(api) == Set(acked))
    }

    /// A stand-in whose first `/v1` answer is a 429 with `Retry-After: retryAfter`, and a relay
    /// that delivers to it.
    static func withOne429(
        retryAfter: String, relayEnvironment: [String: String] = [:],
        _ body: (_ api: StandInProcess, _ relay: RelayProcess) throws -> Void
    ) throws {
        let api = try StandInProcess()
        _ = try api.setFaults(["force_status": 429, "force_count": 1, "retry_after": retryAfter])
        let relay = try RelayProcess(host: api.baseURL, environment: relayEnvironment)
        defer { relay.terminate() }
        try body(api, relay)
    }

    @Test func sighupDoesNotCutARetryAfterWaitShort() throws {
        try Self.withOne429(retryAfter: "4") { api, relay in
            _ = try relay.send(Self.events("hup429", 10))
            // The 429 came, and the relay is waiting it out ...
            #expect(try RelayProcess.eventually { (try relay.status()["upstream_state"] as? String) == "backing_off" })
            // ... when a reload comes: it may resume a pause or a backoff, not a wait the API asked for.
            relay.signal(SIGHUP)
            #expect(RelayProcess.eventually(timeout: .seconds(10)) { relay.allOutput.contains("reloaded") })
            #expect(try RelayProcess.eventually { (try api.stats()["events"] as? Int) == 10 })
            let delay = try Self.retryDelayAfterThe429(api)
            #expect(delay >= 4_000, "retried \(delay) ms after a Retry-After of 4 s")
        }
    }

    @Test func theDeliveredCounterLeavesOutRowsAForgetPurgedInFlight() throws {
        let api = try StandInProcess()
        try api.setFaults(["latency_ms": 1_500])
        let relay = try RelayProcess(host: api.baseURL, environment: RelayProcess.metricsOnAnyPort)
        defer { relay.terminate() }
        // One batch: 5 events of the user who will be forgotten, 3 of someone else.
        let lines = Self.events("purged", 5, user: { _ in "forgotten" }) + Self.events("kept", 3, user: { _ in "stays" })
        #expect(Self.okIDs(try relay.send(lines)).count == 8)
        #expect(try RelayProcess.eventually(timeout: .seconds(10)) { (try api.stats()["by_path"] as? [String: Int])?["/v1/batch"] == 1 })
        // The batch is in flight (arrived, not answered): the forget purges the user's 5 rows.
        let forget = try relay.send([#"{"type":"forget","user_id":"forgotten"}"#])
        #expect(forget.first?.contains(#""purged":5"#) == true, "\(forget)")
        try api.setFaults(["latency_ms": 0])
        #expect(try RelayProcess.eventually(timeout: .seconds(15)) {
            try api.log().contains { $0["path"] as? String == "/v1/forget" && $0["status"] as? Int == 202 }
        })
        #expect(try RelayProcess.eventually { (try relay.status()["queued_events"] as? Int) == 0 })
        // Only rows that left the outbox with a 2xx count as delivered, in status and in the
        // metric alike: the other user's 3 events and the forget itself, not the 5 purged rows.
        let delivered = try relay.status()["delivered_total"] as? Int
        #expect(delivered == 4)
        let counted = try relay.metric("millimetric_relay_events_delivered_total")
        #expect(counted == 4, "the metric counted \(counted ?? -1), status \(delivered ?? -1)")
    }

    @Test func a429LowersTheSendRateThatStatusAndTheMetricShow() throws {
        try Self.withOne429(retryAfter: "1", relayEnvironment: RelayProcess.metricsOnAnyPort) { api, relay in
            // Slow start: the relay starts at a sixteenth of batch_rate (5/s).
            #expect(try RelayProcess.eventually { (try relay.status()["batch_send_rate"] as? Double) == 0.313 })
            _ = try relay.send(Self.events("rate", 10))
            #expect(try RelayProcess.eventually { (try api.stats()["events"] as? Int) == 10 })
            // The first slot grew the rate by 1.5, the 429 ended slow start with a cut of 10 %; a
            // partial batch does not grow the rate again.
            let rate = try #require(try relay.metric("millimetric_relay_batch_send_rate"))
            #expect(abs(rate - 0.421875) < 0.001, "the gauge shows \(rate)")
            #expect(try RelayProcess.eventually { (try relay.status()["batch_send_rate"] as? Double) == 0.422 })
        }
    }

    @Test func a429WithRetryAfterTwoIsNotRetriedBeforeTwoSeconds() throws {
        try Self.withOne429(retryAfter: "2") { api, relay in
            _ = try relay.send(Self.events("ra", 10))
            #expect(try RelayProcess.eventually { (try api.stats()["events"] as? Int) == 10 })
            let delay = try Self.retryDelayAfterThe429(api)
            #expect(delay >= 2_000, "retried after \(delay) ms")
        }
    }

    /// Milliseconds from the stand-in's answer to the first request (which must be the 429) to
    /// the arrival of the next one.
    static func retryDelayAfterThe429(_ api: StandInProcess) throws -> Int {
        let log = try api.log()
        try #require(log.count >= 2)
        #expect(log[0]["status"] as? Int == 429)
        let refusedAt = try #require(log[0]["at_ms"] as? Int)
        let retriedAt = try #require(log[1]["received_ms"] as? Int)
        return retriedAt - refusedAt
    }

    @Test func oneRefusedEventAmong300IsDeadLetteredAndTheOthersArrive() throws {
        let api = try StandInProcess()
        _ = try api.setFaults(["reject_event_marker": "poison-pill"])
        let relay = try RelayProcess(host: api.baseURL)
        defer { relay.terminate() }
        var lines = Self.events("dl", 300)
        lines[137] = #"{"event":"page","event_id":"dl-137","properties":{"x":"poison-pill"}}"#
        let acked = Self.okIDs(try relay.send(lines))
        #expect(acked.count == 300)
        #expect(try RelayProcess.eventually { (try relay.status()["dead_letters"] as? Int) == 1 })
        #expect(try RelayProcess.eventually { (try api.stats()["events"] as? Int) == 299 })
        #expect(try Self.receivedIDs(api) == Set(acked).subtracting(["dl-137"]))
        let (code, listing) = try relay.runCLI(["dead-letters", "list", "--json", "--state-dir", relay.stateDirectory])
        #expect(code == 0)
        let letter = try #require(try JSONSerialization.jsonObject(with: Data(listing.utf8)) as? [String: Any])
        #expect(letter["event_id"] as? String == "dl-137")
        #expect(letter["http_status"] as? Int == 400)
        #expect((letter["response"] as? String)?.contains("invalid_payload") == true)
        #expect(try RelayProcess.eventually { (try relay.status()["queued_events"] as? Int) == 0 })

        // Retried after the API stops refusing it, it arrives; purge empties the table.
        _ = try api.setFaults(["reject_event_marker": NSNull()])
        #expect(try relay.runCLI(["dead-letters", "retry", "--all", "--state-dir", relay.stateDirectory]).0 == 0)
        #expect(try RelayProcess.eventually { (try api.stats()["events"] as? Int) == 300 })
        #expect(try relay.runCLI(["dead-letters", "purge", "--all", "--state-dir", relay.stateDirectory]).0 == 0)
        #expect(try relay.status()["dead_letters"] as? Int == 0)
    }

    /// A stand-in that accepts only `goodKey`, and a relay that reads its key from a file holding
    /// `revokedKey`; `body` may write the good key into the file.
    static func withRevokedKeyFile(
        good goodKey: String, revoked revokedKey: String,
        _ body: (_ api: StandInProcess, _ relay: RelayProcess, _ keyFile: String) throws -> Void
    ) throws {
        let api = try StandInProcess(arguments: ["--keys", goodKey])
        let keyFile = FileManager.default.temporaryDirectory.appendingPathComponent("key-\(UUID().uuidString)").path
        try revokedKey.write(toFile: keyFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: keyFile) }
        let relay = try RelayProcess(host: api.baseURL, key: nil, arguments: ["--key-file", keyFile])
        defer { relay.terminate() }
        try body(api, relay, keyFile)
    }

    @Test func a401PausesDeliveryDropsNothingAndAValidKeyDeliversEverything() throws {
        let goodKey = "sk_test_good_0001"
        try Self.withRevokedKeyFile(good: goodKey, revoked: "sk_test_revoked_0002\n") { api, relay, keyFile in
            let acked = Self.okIDs(try relay.send(Self.events("auth", 50)))
            #expect(try RelayProcess.eventually { (try relay.status()["upstream_state"] as? String) == "paused" })
            let status = try relay.status()
            #expect((status["upstream_reason"] as? String)?.contains("401") == true)
            #expect(status["queued_events"] as? Int == 50)
            #expect(status["dead_letters"] as? Int == 0)
            #expect(try api.stats()["events"] as? Int == 0)

            // A restart with the valid key delivers everything.
            try goodKey.write(toFile: keyFile, atomically: true, encoding: .utf8)
            #expect(relay.terminate() == 0)
            try relay.start()
            #expect(try RelayProcess.eventually { (try api.stats()["events"] as? Int) == 50 })
            #expect(try Self.receivedIDs(api) == Set(acked))
        }
    }

    @Test func sighupReloadsTheKeyAndResumesAPausedDeliveryAtOnce() throws {
        let goodKey = "sk_test_good_0003"
        try Self.withRevokedKeyFile(good: goodKey, revoked: "sk_test_revoked_0004") { api, relay, keyFile in
            _ = try relay.send(Self.events("hup", 20))
            #expect(try RelayProcess.eventually { (try relay.status()["upstream_state"] as? String) == "paused" })
            try goodKey.write(toFile: keyFile, atomically: true, encoding: .utf8)
            relay.signal(SIGHUP)
            // Well within the one-minute pause retry.
            #expect(try RelayProcess.eventually(timeout: .seconds(10)) { (try api.stats()["events"] as? Int) == 20 })
            #expect(!relay.allOutput.contains("sk_test_good_0003"))
        }
    }

    @Test func kill9ThreeTimesDuringDeliveryLosesNoAckedEvent() throws {
        let api = try StandInProcess(arguments: ["--no-rate-limits"])
        // 4,000 events are 8 batches of 500; two at a time, 400 ms each: about 1.6 s of delivery
        // per round for the kill to land in.
        _ = try api.setFaults(["latency_ms": 400])
        let relay = try RelayProcess(host: api.baseURL, environment: ["MILLIMETRIC_RELAY_MAX_IN_FLIGHT": "2"])
        var acked: [String] = []
        for round in 0..<3 {
            let prefix = "crash\(round)-"
            let sent = Self.okIDs(try relay.send(Self.events("crash\(round)", 4_000)))
            acked += sent
            // Kill when the API has some of this round's events but not all of them.
            var arrived = 0
            let midway = try RelayProcess.eventually(timeout: .seconds(30)) {
                arrived = try Self.receivedIDs(api).filter { $0.hasPrefix(prefix) }.count
                return arrived > 0 && arrived < sent.count
            }
            relay.kill9()
            #expect(midway, "round \(round): \(arrived) of \(sent.count) had arrived when the kill came")
            // It landed mid-delivery: part of the round is still in the outbox.
            let queued = try relay.queuedEventIDs().keys.filter { $0.hasPrefix(prefix) }.count
            #expect(queued > 0, "round \(round): nothing of it was left queued at the kill")
            try relay.start()
        }
        defer { relay.terminate() }
        #expect(acked.count == 12_000)
        #expect(try RelayProcess.eventually(timeout: .seconds(60)) { (try api.stats()["events"] as? Int) == 12_000 })
        let received = try Self.receivedIDs(api)
        #expect(received == Set(acked))
        // A duplicate can only be a resend of the same event_id: the stand-in stores by id and
        // counts the repeats. Every id it ever saw is an acked one.
        let seen = try api.log().compactMap { $0["event_ids"] as? [String] }.flatMap { $0 }
        #expect(Set(seen).isSubset(of: Set(acked)))
        print("kill -9 during delivery: acked \(acked.count), arrived \(received.count), duplicates \(try api.stats()["duplicates"] as? Int ?? -1)")
    }
}
