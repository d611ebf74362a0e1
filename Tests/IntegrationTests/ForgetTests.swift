import Foundation
import RelayTestKit
import SQLiteSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SPEC §5 (identify) and §7 (forget) with the real daemon and the API stand-in.
///
/// The stand-in deletes a user's stored events when it accepts a forget, so "no event of A
/// arrived" is read from its request log (every 2xx answer and the ids it carried), never from
/// its event store.
@Suite struct ForgetTests {
    // MARK: - Helpers

    static func track(_ id: String, user: String?, properties: String = #"{"n":1}"#) -> String {
        let userField = user.map { #","user_id":"\#($0)""# } ?? ""
        return #"{"event":"page","event_id":"\#(id)"\#(userField),"properties":\#(properties)}"#
    }

    static func forget(_ user: String) -> String {
        #"{"type":"forget","user_id":"\#(user)"}"#
    }

    static func object(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
    }

    static func isOK(_ ack: String) -> Bool { ack.hasPrefix(#"{"ok":true"#) }

    /// Requests the stand-in answered with 2xx, i.e. what it accepted.
    static func accepted(_ log: [[String: Any]]) -> [[String: Any]] {
        log.filter { ($0["status"] as? Int).map { (200...299).contains($0) } ?? false }
    }

    static func eventIDs(_ entry: [String: Any]) -> [String] {
        (entry["event_ids"] as? [Any] ?? []).compactMap { $0 as? String }
    }

    static func userIDs(_ entry: [String: Any]) -> [String] {
        (entry["user_ids"] as? [Any] ?? []).compactMap { $0 as? String }
    }

    /// The raw bytes of the outbox and of its WAL (when there is one).
    static func databaseBytes(_ relay: RelayProcess) -> [(file: String, bytes: Data)] {
        [relay.databasePath, relay.databasePath + "-wal"].compactMap { path in
            FileManager.default.contents(atPath: path).map { ((path as NSString).lastPathComponent, $0) }
        }
    }

    /// The files among the outbox and its WAL whose bytes contain `marker`.
    static func filesContaining(_ marker: String, in relay: RelayProcess) -> [String] {
        let needle = Data(marker.utf8)
        return databaseBytes(relay).filter { $0.bytes.range(of: needle) != nil }.map(\.file)
    }

    static func deadLetters(_ relay: RelayProcess) throws -> [[String: Any]] {
        let (code, output) = try relay.runCLI(["dead-letters", "list", "--json", "--state-dir", relay.stateDirectory])
        guard code == 0 else { throw RelayFailure("dead-letters list failed (\(code)): \(output)") }
        return try output.split(separator: "\n").map { try object(String($0)) }
    }

    // MARK: - Tests

    @Test func anIdentifyReachesV1IdentifyWithItsAnonymousIDUserIDAndTraits() throws {
        let api = try StandInProcess()
        let relay = try RelayProcess(host: api.baseURL)
        defer { relay.terminate() }
        let acks = try relay.send([
            #"{"type":"identify","anonymous_id":"anon-7f3c","user_id":"user-42","traits":{"plan":"pro","seats":3}}"#
        ])
        #expect(acks.count == 1)
        #expect(try Self.object(acks[0])["event_id"] is String, "\(acks)")

        #expect(try RelayProcess.eventually(timeout: .seconds(10)) {
            try api.events().contains { $0["_endpoint"] as? String == "/v1/identify" }
        })
        let identifies = try api.events().filter { $0["_endpoint"] as? String == "/v1/identify" }
        try #require(identifies.count == 1)
        let body = identifies[0]
        #expect(body["anonymous_id"] as? String == "anon-7f3c")
        #expect(body["user_id"] as? String == "user-42")
        let traits = try #require(body["traits"] as? [String: Any])
        #expect(traits["plan"] as? String == "pro")
        #expect(traits["seats"] as? Int == 3)
        // Only the API's fields: not the relay's "type" or its own handle.
        #expect(Set(body.keys) == ["_endpoint", "anonymous_id", "user_id", "traits"])

        let requests = try api.log().filter { $0["path"] as? String == "/v1/identify" }
        #expect(requests.count == 1)
        #expect(requests.first?["status"] as? Int == 202)
        #expect(requests.first.map(Self.userIDs) == ["user-42"])
        #expect(try RelayProcess.eventually(timeout: .seconds(5)) { (try relay.status()["queued_events"] as? Int) == 0 })
    }

    @Test func aForgetDuringAnOutagePurgesTheUsersQueuedRowsAndOnlyTheOthersArrive() throws {
        let api = try StandInProcess()
        try api.setFaults(["down": true])
        let relay = try RelayProcess(host: api.baseURL)
        defer { relay.terminate() }
        let userA = "user-a-\(UUID().uuidString.prefix(8))"
        let userB = "user-b-\(UUID().uuidString.prefix(8))"
        var lines: [String] = []
        var idsA: [String] = []
        var idsB: [String] = []
        var idsAnonymous: [String] = []
        for index in 0..<6 {
            lines.append(Self.track("a-\(index)", user: userA))
            idsA.append("a-\(index)")
            lines.append(Self.track("b-\(index)", user: userB))
            idsB.append("b-\(index)")
            if index.isMultiple(of: 2) {
                lines.append(Self.track("anon-\(index)", user: nil))
                idsAnonymous.append("anon-\(index)")
            }
        }
        // An identify of A (purged too) and of B (kept), then more track events after them.
        lines.append(#"{"type":"identify","anonymous_id":"device-a","user_id":"\#(userA)"}"#)
        lines.append(#"{"type":"identify","anonymous_id":"device-b","user_id":"\#(userB)"}"#)
        lines.append(Self.track("a-late", user: userA))
        idsA.append("a-late")
        lines.append(Self.track("b-late", user: userB))
        idsB.append("b-late")
        let acks = try relay.send(lines)
        #expect(acks.count == lines.count)
        #expect(acks.allSatisfy(Self.isOK), "\(acks)")
        let queuedRowsOfA = idsA.count + 1  // its track events and its identify

        // The drainer has tried a batch holding A's events and holds it for a retry.
        #expect(try RelayProcess.eventually(timeout: .seconds(10)) {
            try api.log().contains { $0["status"] as? Int == 503 && Self.userIDs($0).contains(userA) }
        })

        let forgetAck = try Self.object(try #require(try relay.send([Self.forget(userA)]).first))
        #expect(forgetAck["ok"] as? Bool == true)
        #expect(forgetAck["purged"] as? Int == queuedRowsOfA)
        #expect(try relay.queuedEventIDs().keys.contains { idsA.contains($0) } == false)

        try api.setFaults(["down": false])
        let expected = Set(idsB + idsAnonymous)
        #expect(try RelayProcess.eventually(timeout: .seconds(20)) {
            let log = try api.log()
            let delivered = Set(Self.accepted(log).flatMap(Self.eventIDs))
            let forgot = Self.accepted(log).contains { $0["path"] as? String == "/v1/forget" }
            return expected.isSubset(of: delivered) && forgot
        })
        let log = try api.log()
        let accepted = Self.accepted(log)
        let leaked = accepted.filter { entry in
            (Self.userIDs(entry).contains(userA) && entry["path"] as? String != "/v1/forget")
                || Self.eventIDs(entry).contains { idsA.contains($0) }
        }
        #expect(leaked.isEmpty, "events of the forgotten user reached the API: \(leaked)")
        #expect(Set(accepted.flatMap(Self.eventIDs)) == expected)
        let forgets = accepted.filter { $0["path"] as? String == "/v1/forget" }
        #expect(forgets.count == 1)
        #expect(forgets.first.map(Self.userIDs) == [userA])
        let identified = accepted.filter { $0["path"] as? String == "/v1/identify" }.flatMap(Self.userIDs)
        #expect(identified == [userB])
        #expect(try RelayProcess.eventually(timeout: .seconds(5)) { (try relay.status()["queued_events"] as? Int) == 0 })
    }

    @Test func aForgetIsSentOnlyAfterTheBatchInFlightWithTheUsersEventsHasSettled() throws {
        let api = try StandInProcess()
        try api.setFaults(["latency_ms": 1_500])
        let relay = try RelayProcess(host: api.baseURL)
        defer { relay.terminate() }
        let user = "user-inflight-\(UUID().uuidString.prefix(8))"
        let ids = (0..<5).map { "inflight-\($0)" }
        let acks = try relay.send(ids.map { Self.track($0, user: user) })
        #expect(acks.allSatisfy(Self.isOK), "\(acks)")

        // The batch has reached the stand-in and waits for its (slow) answer: counted as
        // arrived, not yet in the log of answered requests.
        #expect(try RelayProcess.eventually(timeout: .seconds(10)) {
            (try api.stats()["by_path"] as? [String: Int])?["/v1/batch"] == 1
        })
        #expect(try api.log().isEmpty)
        let forgetAck = try Self.object(try #require(try relay.send([Self.forget(user)]).first))
        #expect(forgetAck["ok"] as? Bool == true)
        // Answer later requests at once; the batch already admitted keeps its 1.5 s.
        try api.setFaults(["latency_ms": 0])

        #expect(try RelayProcess.eventually(timeout: .seconds(15)) {
            let log = try api.log()
            return log.contains { $0["path"] as? String == "/v1/forget" && $0["status"] as? Int == 202 }
                && log.contains { $0["path"] as? String == "/v1/batch" && $0["status"] as? Int == 202 }
        })
        let log = try api.log()
        let batches = log.filter { $0["path"] as? String == "/v1/batch" && Self.userIDs($0).contains(user) }
        let forget = try #require(log.first { $0["path"] as? String == "/v1/forget" })
        let forgetReceived = try #require(forget["received_ms"] as? Int)
        try #require(!batches.isEmpty)
        for batch in batches {
            let answered = try #require(batch["at_ms"] as? Int, "a batch of the user was never answered: \(batch)")
            #expect(forgetReceived >= answered, "the forget arrived \(answered - forgetReceived) ms before the batch was answered")
        }
        #expect(Set(batches.flatMap(Self.eventIDs)) == Set(ids))
        #expect(try RelayProcess.eventually(timeout: .seconds(5)) { (try relay.status()["queued_events"] as? Int) == 0 })
    }

    /// A stand-in that refuses (for good) every event containing `poison`, and a relay that
    /// delivers to it: its dead letters are made by sending an event with the marker.
    static func withPoisonedAPI(_ body: (_ api: StandInProcess, _ relay: RelayProcess, _ poison: String) throws -> Void) throws {
        let api = try StandInProcess()
        let poison = "poison-\(UUID().uuidString)"
        try api.setFaults(["reject_event_marker": poison])
        let relay = try RelayProcess(host: api.baseURL)
        defer { relay.terminate() }
        try body(api, relay, poison)
    }

    @Test func aForgetLeavesNoTraceOfTheUsersEventsInTheDatabaseOrItsWAL() throws {
        try Self.withPoisonedAPI { api, relay, poison in
            let user = "user-secret-\(UUID().uuidString.prefix(8))"
            let secret = "secret-\(UUID().uuidString)"
            let kept = "kept-\(UUID().uuidString)"

            // One event of the user is refused by the API and dead-lettered.
            let poisoned = Self.track("secret-dl", user: user, properties: #"{"x":"\#(poison)","s":"\#(secret)"}"#)
            #expect(try relay.send([poisoned]).allSatisfy(Self.isOK))
            #expect(try RelayProcess.eventually(timeout: .seconds(10)) { (try relay.status()["dead_letters"] as? Int) == 1 })
            #expect(try Self.deadLetters(relay).map { $0["event_id"] as? String } == ["secret-dl"])

            // With the API down, several KB of the user's data sit in the queue: small rows stored
            // in their page, large ones spilling into overflow pages, and an identify.
            try api.setFaults(["down": true])
            let large = #"{"blob":"\#(Array(repeating: secret, count: 150).joined(separator: " "))"}"#  // ~6 KB
            var lines = (0..<4).map { Self.track("secret-small-\($0)", user: user, properties: #"{"s":"\#(secret)"}"#) }
            lines += (0..<4).map { Self.track("secret-large-\($0)", user: user, properties: large) }
            lines.append(#"{"type":"identify","anonymous_id":"device-s","user_id":"\#(user)","traits":{"s":"\#(secret)"}}"#)
            lines.append(Self.track("other-user", user: "someone-else", properties: #"{"s":"\#(kept)"}"#))
            #expect(try relay.send(lines).allSatisfy(Self.isOK))

            // Sanity: the search does find data that is there.
            #expect(!Self.filesContaining(secret, in: relay).isEmpty, "the marker should be on disk before the forget")
            #expect(!Self.filesContaining(kept, in: relay).isEmpty)

            let forgetAck = try Self.object(try #require(try relay.send([Self.forget(user)]).first))
            #expect(forgetAck["ok"] as? Bool == true)
            #expect(forgetAck["purged"] as? Int == 9)

            // Acked means purged, WAL checkpointed: nothing of the user is left in either file.
            let files = Self.databaseBytes(relay)
            #expect(files.contains { $0.file == "outbox.sqlite" })
            for (file, bytes) in files {
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(file) still holds the user's data")
                #expect(bytes.range(of: Data(poison.utf8)) == nil, "\(file) still holds the dead-lettered event")
            }
            // The other user's event is still there, and still found.
            #expect(!Self.filesContaining(kept, in: relay).isEmpty)
            #expect(try Self.deadLetters(relay).isEmpty)
            let status = try relay.status()
            #expect(status["dead_letters"] as? Int == 0)
            #expect(status["queued_events"] as? Int == 2)  // the other user's event and the forget
        }
    }

    /// A reader holding a snapshot (a `status`, a backup) blocks the purge's checkpoint. The
    /// writer must not wait for it (every ack waits behind the writer), must retry on its own,
    /// and must show the pending erasure in `status` meanwhile.
    @Test func aReaderHoldingASnapshotAcrossAForgetDelaysNoAckAndTheDataLeavesTheWALOnceItCloses() throws {
        // No API: every event stays queued.
        let relay = try RelayProcess()
        defer { relay.terminate() }
        let user = "user-snap-\(UUID().uuidString.prefix(8))"
        let secret = "secret-\(UUID().uuidString)"
        let lines = (0..<6).map { Self.track("snap-\($0)", user: user, properties: #"{"s":"\#(secret)"}"#) }
        #expect(try relay.send(lines).allSatisfy(Self.isOK))
        #expect(!Self.filesContaining(secret, in: relay).isEmpty, "the marker should be on disk before the forget")

        // The reader: a read transaction that has read, so it holds its snapshot until COMMIT.
        var reader: SQLiteConnection? = try SQLiteConnection(path: relay.databasePath, mode: .readOnly)
        try reader!.execute("BEGIN")
        #expect(try reader!.scalarInt64("SELECT count(*) FROM events") == 6)

        // Acks go on while the reader holds on: the forget's, and a steady stream of others.
        let slowest = Mutex<Duration>(.zero)
        let stop = Atomic<Bool>(false)
        let producerDone = DispatchSemaphore(value: 0)
        let producer = Thread {
            defer { producerDone.signal() }
            var n = 0
            while !stop.load(ordering: .relaxed) {
                let start = ContinuousClock.now
                _ = try? relay.send([Self.track("during-\(n)", user: "someone-else")])
                let took = ContinuousClock.now - start
                slowest.withLock { $0 = max($0, took) }
                n += 1
                usleep(50_000)
            }
        }
        producer.start()
        let forgetStart = ContinuousClock.now
        let forgetAck = try Self.object(try #require(try relay.send([Self.forget(user)]).first))
        let forgetTook = ContinuousClock.now - forgetStart
        #expect(forgetAck["ok"] as? Bool == true)
        #expect(forgetAck["purged"] as? Int == 6)
        #expect(forgetTook < .seconds(2), "the forget's ack took \(forgetTook): the writer waited for the reader")

        // While the reader holds on, status says the erasure is pending (read by another
        // process), and the data is still on disk: the retries keep failing, without a new purge.
        #expect(try RelayProcess.eventually(timeout: .seconds(10)) { try relay.status()["purge_pending_checkpoint_since"] != nil })
        let text = try relay.runCLI(["status", "--state-dir", relay.stateDirectory]).1
        #expect(text.contains("purge pending checkpoint"), "\(text)")
        #expect(RelayProcess.eventually(timeout: .seconds(10)) { relay.allOutput.contains("WAL checkpoint after a purge is blocked") })
        let heldUntil = ContinuousClock.now + .seconds(3)
        while ContinuousClock.now < heldUntil { usleep(50_000) }
        stop.store(true, ordering: .relaxed)
        producerDone.wait()
        #expect(!Self.filesContaining(secret, in: relay).isEmpty, "the reader should have kept the checkpoint from completing")
        let slowestAck = slowest.withLock { $0 }
        #expect(slowestAck < .seconds(2), "an ack took \(slowestAck) while the reader held its snapshot")
        #expect(relay.allOutput.components(separatedBy: "WAL checkpoint after a purge is blocked").count == 2, "logged once")

        // The reader lets go: within 10 s the user's bytes are gone from the database and the WAL.
        try reader!.execute("COMMIT")
        try reader!.close()
        reader = nil
        let gone = RelayProcess.eventually(timeout: .seconds(10)) { Self.filesContaining(secret, in: relay).isEmpty }
        #expect(gone, "still on disk in \(Self.filesContaining(secret, in: relay)) 10 s after the reader closed")
        #expect(try RelayProcess.eventually(timeout: .seconds(10)) { try relay.status()["purge_pending_checkpoint_since"] == nil })
        #expect(relay.allOutput.contains("WAL checkpoint after a purge completed"))
    }

    /// `dead-letters purge` erases too: with a reader holding a snapshot it must neither wait
    /// for it (holding the write lock, which would stall the daemon's acks) nor leave the data
    /// in the WAL; the daemon takes the checkpoint over.
    @Test func aDeadLettersPurgeBlockedByAReaderReturnsAtOnceAndTheDaemonFinishesTheCheckpoint() throws {
        try Self.withPoisonedAPI { api, relay, poison in
            #expect(try relay.send([Self.track("dl-1", user: "someone", properties: #"{"x":"\#(poison)"}"#)]).allSatisfy(Self.isOK))
            #expect(try RelayProcess.eventually(timeout: .seconds(10)) { (try relay.status()["dead_letters"] as? Int) == 1 })

            var reader: SQLiteConnection? = try SQLiteConnection(path: relay.databasePath, mode: .readOnly)
            try reader!.execute("BEGIN")
            #expect(try reader!.scalarInt64("SELECT count(*) FROM dead_letters") == 1)
            let start = ContinuousClock.now
            let (code, output) = try relay.runCLI(["dead-letters", "purge", "--all", "--state-dir", relay.stateDirectory])
            let took = ContinuousClock.now - start
            #expect(code == 0, "\(output)")
            #expect(took < .seconds(3), "dead-letters purge took \(took): it waited for the reader")
            #expect(try relay.status()["purge_pending_checkpoint_since"] != nil)
            #expect(!Self.filesContaining(poison, in: relay).isEmpty, "the reader should keep the checkpoint from completing")

            try reader!.execute("COMMIT")
            try reader!.close()
            reader = nil
            #expect(RelayProcess.eventually(timeout: .seconds(10)) { Self.filesContaining(poison, in: relay).isEmpty },
                    "the purged dead letter is still in \(Self.filesContaining(poison, in: relay)) 10 s after the reader closed")
            #expect(try RelayProcess.eventually(timeout: .seconds(10)) { try relay.status()["purge_pending_checkpoint_since"] == nil })
        }
    }

    @Test func aForgetFromAUIDThatIsNotAllowedIsForbiddenAndPurgesNothingAndStarAllowsIt() throws {
        // No API: the events stay queued.
        let otherUID = getuid() == 4242 ? "4243" : "4242"
        let relay = try RelayProcess(environment: ["MILLIMETRIC_RELAY_FORGET_ALLOWED_UIDS": otherUID])
        defer { relay.terminate() }
        let user = "user-uid-\(UUID().uuidString.prefix(8))"
        let ids = (0..<3).map { "uid-\($0)" }
        #expect(try relay.send(ids.map { Self.track($0, user: user) }).allSatisfy(Self.isOK))

        let refused = try Self.object(try #require(try relay.send([Self.forget(user)]).first))
        #expect(refused["ok"] as? Bool == false)
        #expect(refused["error"] as? String == "forbidden")
        #expect((refused["message"] as? String)?.contains("forget_allowed_uids") == true, "\(refused)")
        #expect(refused["purged"] == nil)
        #expect(try relay.status()["queued_events"] as? Int == 3)
        #expect(Set(try relay.queuedEventIDs().keys) == Set(ids))

        // "*" lets every peer that can reach the socket send forget.
        #expect(relay.terminate() == 0)
        relay.environment["MILLIMETRIC_RELAY_FORGET_ALLOWED_UIDS"] = "*"
        try relay.start()
        let accepted = try Self.object(try #require(try relay.send([Self.forget(user)]).first))
        #expect(accepted["ok"] as? Bool == true, "\(accepted)")
        #expect(accepted["purged"] as? Int == 3)
        #expect(try relay.queuedEventIDs().keys.contains { ids.contains($0) } == false)
        #expect(try relay.status()["queued_events"] as? Int == 1)  // the forget itself
    }

    @Test func aForgetTheAPIRefusesForGoodIsKeptLoggedAsAnErrorAndDeliveryGoesOn() throws {
        let api = try StandInProcess()
        // Only the forget is queued when the relay starts, so it gets the one 422.
        try api.setFaults(["force_status": 422, "force_count": 1])
        let relay = try RelayProcess(host: api.baseURL)
        defer { relay.terminate() }
        let forgetAck = try Self.object(try #require(try relay.send([Self.forget("user-refused")]).first))
        #expect(forgetAck["ok"] as? Bool == true)
        let forgetID = try #require(forgetAck["event_id"] as? String)

        #expect(try RelayProcess.eventually(timeout: .seconds(10)) { (try relay.status()["refused_forgets"] as? Int) == 1 })
        let status = try relay.status()
        #expect(status["dead_letters"] as? Int == 1)
        #expect(status["queued_events"] as? Int == 0)
        #expect((status["last_error"] as? String)?.contains("422") == true, "\(status)")
        let letters = try Self.deadLetters(relay)
        #expect(letters.count == 1)
        #expect(letters.first?["kind"] as? String == "forget")
        #expect(letters.first?["event_id"] as? String == forgetID)
        #expect(letters.first?["user_id"] as? String == "user-refused")
        #expect(letters.first?["http_status"] as? Int == 422)
        #expect(RelayProcess.eventually(timeout: .seconds(5)) {
            relay.allOutput.split(separator: "\n").contains { $0.contains(" error ") && $0.contains("forget") }
        }, "no error line about the forget in:\n\(relay.allOutput)")

        // Delivery goes on: later events and another forget arrive.
        let ids = (0..<5).map { "after-\($0)" }
        #expect(try relay.send(ids.map { Self.track($0, user: "user-next") } + [Self.forget("user-other")]).allSatisfy(Self.isOK))
        #expect(try RelayProcess.eventually(timeout: .seconds(10)) {
            let accepted = Self.accepted(try api.log())
            return Set(ids).isSubset(of: Set(accepted.flatMap(Self.eventIDs)))
                && accepted.contains { $0["path"] as? String == "/v1/forget" && Self.userIDs($0) == ["user-other"] }
        })
        let forgets = try api.log().filter { $0["path"] as? String == "/v1/forget" }
        #expect(forgets.map { $0["status"] as? Int } == [422, 202])
        #expect(try RelayProcess.eventually(timeout: .seconds(5)) { (try relay.status()["queued_events"] as? Int) == 0 })
        #expect(try relay.status()["refused_forgets"] as? Int == 1)
    }
}
