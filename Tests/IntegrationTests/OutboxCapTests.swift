import Foundation
import RelayTestKit
import SQLiteSupport
import Synchronization
import Testing

/// SPEC §8: the outbox cap counts queued and dead-lettered event JSON, and follows changes that
/// `dead-letters purge` makes from another process while producers keep the daemon busy.
@Suite struct OutboxCapTests {
    /// Fills the outbox's dead letters with `count` rows of `bytes` bytes each, directly.
    static func addDeadLetters(_ relay: RelayProcess, count: Int, bytes: Int) throws {
        let connection = try SQLiteConnection(path: relay.databasePath, mode: .readWrite)
        try connection.setBusyTimeout(milliseconds: 5_000)
        try connection.execute("BEGIN IMMEDIATE")
        // The statement lives in this scope: the connection closes only once it is finalized.
        do {
            let insert = try connection.prepare(
                """
                INSERT INTO dead_letters(seq, kind, event_id, user_id, body, bytes, received_at, failed_at, http_status, response)
                VALUES (?, 0, ?, NULL, ?, ?, 0, 0, 400, '{"ok":false}')
                """)
            for index in 0..<count {
                let padding = String(repeating: "x", count: bytes - 30)
                let body = #"{"event":"dead","p":"\#(padding)"}"#.padding(toLength: bytes, withPad: " ", startingAt: 0)
                try insert.bind(Int64(index + 1), at: 1)
                try insert.bind("dead-\(index)", at: 2)
                try insert.bind(body, at: 3)
                try insert.bind(Int64(body.utf8.count), at: 4)
                try insert.step()
                insert.clearBindings()
            }
        }
        try connection.execute("COMMIT")
        try connection.close()
    }

    @Test func aDeadLettersPurgeFreesCapSpaceWithinSecondsUnderSteadyLoad() throws {
        // No API: nothing leaves. The cap is 20,000 bytes, 19,900 of them dead letters.
        let relay = try RelayProcess(environment: ["MILLIMETRIC_RELAY_MAX_OUTBOX_BYTES": "20000"])
        defer { relay.terminate() }
        #expect(relay.terminate() == 0)
        try Self.addDeadLetters(relay, count: 10, bytes: 1_990)
        try relay.start()

        // A steady producer: one ~300-byte event every 20 ms, each on its own connection.
        let answers = Mutex<[(at: ContinuousClock.Instant, ok: Bool)]>([])
        let stop = Atomic<Bool>(false)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            defer { done.signal() }
            let padding = String(repeating: "p", count: 250)
            var n = 0
            while !stop.load(ordering: .relaxed) {
                let line = #"{"event":"steady","event_id":"steady-\#(n)","properties":{"p":"\#(padding)"}}"#
                if let ack = try? relay.send([line]).first {
                    answers.withLock { $0.append((.now, ack.hasPrefix(#"{"ok":true"#))) }
                }
                n += 1
                usleep(20_000)
            }
        }
        defer {
            stop.store(true, ordering: .relaxed)
            done.wait()
        }
        // The cap is full: the producer is refused.
        #expect(RelayProcess.eventually(timeout: .seconds(20)) { answers.withLock { $0.count } >= 10 })
        #expect(answers.withLock { $0.allSatisfy { !$0.ok } }, "the cap should refuse every event before the purge")

        let (code, output) = try relay.runCLI(["dead-letters", "purge", "--all", "--state-dir", relay.stateDirectory])
        #expect(code == 0, "\(output)")
        let purgedAt = ContinuousClock.now
        // Under the same steady load, the freed space is taken within seconds.
        let accepted = RelayProcess.eventually(timeout: .seconds(10)) {
            answers.withLock { $0.contains { $0.ok && $0.at > purgedAt } }
        }
        #expect(accepted, "no event was accepted within 10 s after the purge freed 19,900 bytes of cap")
        let firstOK = answers.withLock { $0.first { $0.ok }?.at }
        if let firstOK {
            #expect(firstOK - purgedAt < .seconds(5), "the cap followed the purge only after \(firstOK - purgedAt)")
        }
        #expect(try relay.status()["dead_letters"] as? Int == 0)
    }
}
