import Foundation
import RelayTestKit
import Testing

/// A full disk under the outbox (SPEC §4 `outbox_full`, §8 "nothing already stored is dropped"):
/// acks turn into `outbox_full` errors, nothing acked is lost, the daemon stays up, and it takes
/// new lines again once there is room.
///
/// Two ways to fill it: a 2 MiB tmpfs on the state directory (real ENOSPC; needs root and mount),
/// and, everywhere, SQLite's `max_page_count` through the relay's test hook
/// `MILLIMETRIC_RELAY_TEST_MAX_PAGE_COUNT` (SQLITE_FULL without a full filesystem).
@Suite struct DiskFullTests {
    static func events(_ prefix: String, _ count: Int) -> [String] {
        let padding = String(repeating: "x", count: 300)
        return (0..<count).map { #"{"event":"fill","event_id":"\#(prefix)-\#($0)","user_id":"u\#($0 % 5)","properties":{"pad":"\#(padding)"}}"# }
    }

    /// Sends batches until acks turn into refusals; returns the acked ids and the refusals.
    static func fill(_ relay: RelayProcess) throws -> (acked: [String], refusals: [[String: Any]]) {
        var acked: [String] = []
        var refusals: [[String: Any]] = []
        for round in 0..<200 where refusals.count < 300 {
            for ack in try relay.send(events("fill\(round)", 100)) {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(ack.utf8)) as? [String: Any])
                if object["ok"] as? Bool == true {
                    acked.append(object["event_id"] as? String ?? "")
                } else {
                    refusals.append(object)
                }
            }
        }
        return (acked, refusals)
    }

    static func isOK(_ ack: String?) -> Bool { ack?.hasPrefix(#"{"ok":true"#) == true }

    @Test(.enabled(if: SmallFilesystem.isAvailable, "needs root and mount(2) for a 2 MiB tmpfs"))
    func aFullFilesystemRefusesWithOutboxFullLosesNothingAndRecoversWhenSpaceReturns() throws {
        let api = try StandInProcess(arguments: ["--down", "--no-rate-limits"])
        let relay = try RelayProcess(host: api.baseURL, start: false)
        try SmallFilesystem.mount(relay.stateDirectory, megabytes: 2)
        defer {
            relay.terminate()
            SmallFilesystem.unmount(relay.stateDirectory)
        }
        try relay.start()

        // The disk fills: acks turn into outbox_full (from SQLITE_FULL), never internal_error.
        let filled = try Self.fill(relay)
        var acked = filled.acked
        let refusals = filled.refusals
        #expect(acked.count > 500)
        try #require(!refusals.isEmpty, "the 2 MiB filesystem never filled")
        #expect(refusals.allSatisfy { $0["error"] as? String == "outbox_full" }, "\(refusals.first ?? [:])")
        #expect((refusals.first?["message"] as? String)?.contains("disk holding the outbox is full") == true)

        // The daemon stays up and answers every line: a group commit small enough to fit in the
        // space a failed one left in the WAL may still succeed, the rest is outbox_full.
        #expect(relay.isRunning)
        let whileFull = try relay.send(Self.events("while-full", 20))
        #expect(whileFull.count == 20)
        #expect(whileFull.allSatisfy { Self.isOK($0) || $0.contains(#""error":"outbox_full""#) }, "\(whileFull)")
        acked += DeliveryTests.okIDs(whileFull)
        let queued = try relay.queuedEventIDs()
        #expect(Set(acked).isSubset(of: Set(queued.keys)), "acked but not stored: \(Set(acked).subtracting(queued.keys).prefix(5))")

        // The upstream comes back while the disk is still full: every acked event arrives.
        try api.setFaults(["down": false])
        #expect(try RelayProcess.eventually(timeout: .seconds(60)) { try DeliveryTests.receivedIDs(api).isSuperset(of: acked) })
        #expect(relay.isRunning)

        // Space returns: new lines are acked again.
        try SmallFilesystem.grow(relay.stateDirectory, megabytes: 64)
        #expect(try RelayProcess.eventually(timeout: .seconds(10)) { Self.isOK(try relay.send(Self.events("after", 1)).first) })
        let more = DeliveryTests.okIDs(try relay.send(Self.events("after-more", 200)))
        #expect(more.count == 200)
        #expect(try RelayProcess.eventually(timeout: .seconds(30)) { try DeliveryTests.receivedIDs(api).isSuperset(of: more) })

        // Deleting delivered rows needs room in the WAL too: settlements that failed while the
        // disk was full are retried, so once space returns the queue empties without a restart.
        #expect(try RelayProcess.eventually(timeout: .seconds(15)) { (try relay.status()["queued_events"] as? Int) == 0 })
        let stopStatus = relay.terminate()
        #expect(stopStatus == 0, "\(relay.output(ofGeneration: relay.generation).split(separator: "\n").suffix(15).joined(separator: "\n"))")
        try relay.start()
        #expect(try RelayProcess.eventually(timeout: .seconds(60)) { (try relay.status()["queued_events"] as? Int) == 0 })
        print("disk full (tmpfs): acked \(acked.count) before full, \(refusals.count) refused, duplicates \(try api.stats()["duplicates"] as? Int ?? -1)")
    }

    @Test func aPageLimitedOutboxRefusesWithOutboxFullAndDrainingMakesRoomAgain() throws {
        let api = try StandInProcess(arguments: ["--down", "--no-rate-limits"])
        // 50 pages of 16 KiB: about 1,800 of these events.
        let relay = try RelayProcess(host: api.baseURL, environment: ["MILLIMETRIC_RELAY_TEST_MAX_PAGE_COUNT": "50"])
        defer { relay.terminate() }

        let (acked, refusals) = try Self.fill(relay)
        #expect(acked.count > 500)
        try #require(!refusals.isEmpty, "the page limit was never reached")
        #expect(refusals.allSatisfy { $0["error"] as? String == "outbox_full" }, "\(refusals.first ?? [:])")
        #expect((refusals.first?["message"] as? String)?.contains("disk holding the outbox is full") == true)
        #expect(relay.isRunning)
        let queued = try relay.queuedEventIDs()
        #expect(Set(acked).isSubset(of: Set(queued.keys)))

        // The upstream comes back: delivery deletes rows (which needs no new pages), the freed
        // pages take new events, and the queue drains completely.
        try api.setFaults(["down": false])
        #expect(try RelayProcess.eventually(timeout: .seconds(60)) { try DeliveryTests.receivedIDs(api).isSuperset(of: acked) })
        #expect(try RelayProcess.eventually(timeout: .seconds(30)) { (try relay.status()["queued_events"] as? Int) == 0 })
        let more = DeliveryTests.okIDs(try relay.send(Self.events("after", 500)))
        #expect(more.count == 500)
        #expect(try RelayProcess.eventually(timeout: .seconds(30)) { try DeliveryTests.receivedIDs(api).isSuperset(of: more) })
        #expect(try api.stats()["duplicates"] as? Int == 0)
    }
}
