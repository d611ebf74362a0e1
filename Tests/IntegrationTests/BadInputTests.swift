import Foundation
import RelayTestKit
import Testing

@testable import MillimetricRelay

/// Every malformed input of docs/bad-input-catalogue.md, against the real daemon: what it answers
/// and what it stores. The catalogue's claims are these expectations; keep them in step.
@Suite struct BadInputTests {
    /// What the relay answers to one connection's bytes.
    enum Answer: Sendable, CustomStringConvertible {
        /// `{"ok":true}`; `warning` must appear among the warnings, `stored` in the stored body.
        case ok(warning: String? = nil, stored: String? = nil)
        /// `{"ok":false,"error":code}` with `message` in the message.
        case refused(String, message: String? = nil)

        var description: String {
            switch self {
            case .ok: "ok"
            case .refused(let code, _): code
            }
        }
    }

    struct Case: Sendable {
        let name: String
        let bytes: [UInt8]
        /// One entry per ack, in order; empty when no ack is due.
        let answers: [Answer]
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
    static func line(_ text: String) -> [UInt8] { Array(text.utf8) + [0x0A] }
    static func event(_ id: String, _ extra: String = "") -> String { #"{"event":"e","event_id":"\#(id)"\#(extra)}"# }
    static func nested(_ depth: Int) -> String { String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth) }
    static let emoji = "\u{1F600}"

    /// A line of exactly `size` bytes: an event whose unknown field pads it out.
    static func paddedLine(id: String, size: Int) -> String {
        let head = #"{"event":"e","event_id":"\#(id)","pad":""#
        return head + String(repeating: "p", count: size - head.utf8.count - 2) + #""}"#
    }

    static let cases: [Case] = [
        // Framing and line ends
        Case(name: "empty line", bytes: line(""), answers: []),
        Case(name: "whitespace-only line", bytes: line(" \t  \r"), answers: []),
        Case(name: "CRLF line end", bytes: bytes(event("crlf")) + [0x0D, 0x0A], answers: [.ok()]),
        Case(name: "two CRs before LF (one is JSON whitespace)", bytes: bytes(event("crcr")) + [0x0D, 0x0D, 0x0A], answers: [.ok()]),
        Case(name: "bare CR between two objects", bytes: bytes(event("cr1")) + [0x0D] + line(event("cr2")), answers: [.refused("invalid_json", message: "unexpected '{'")]),
        Case(name: "last line without LF before half-close", bytes: bytes(event("nolf")), answers: [.ok()]),
        Case(name: "half-close in the middle of a line", bytes: bytes(#"{"event":"trunc"#), answers: [.refused("invalid_json", message: "unterminated string")]),
        Case(name: "many lines pipelined, bad ones among them", bytes: line(event("p1")) + line("nope") + line(event("p2")), answers: [.ok(), .refused("invalid_json"), .ok()]),

        // Bytes and encodings
        Case(name: "NUL byte inside a string", bytes: bytes(#"{"event":"a"#) + [0] + line(#"b"}"#), answers: [.refused("invalid_json", message: "unescaped control character")]),
        Case(name: "NUL byte after the object", bytes: bytes(event("nul")) + [0, 0x0A], answers: [.refused("invalid_json", message: "byte 0x00")]),
        Case(name: "escaped NUL (\\u0000)", bytes: line(event("escnul", #","url":"a\u0000b""#)), answers: [.ok(stored: #""url":"a\u0000b""#)]),
        Case(name: "raw tab inside a string", bytes: line("{\"event\":\"a\tb\"}"), answers: [.refused("invalid_json", message: "unescaped control character")]),
        Case(name: "invalid UTF-8 (0xFF)", bytes: bytes(#"{"event":""#) + [0xFF] + line(#""}"#), answers: [.refused("invalid_json", message: "not valid UTF-8")]),
        Case(name: "Latin-1 byte (0xE9)", bytes: bytes(#"{"event":"caf"#) + [0xE9] + line(#""}"#), answers: [.refused("invalid_json", message: "not valid UTF-8")]),
        Case(name: "overlong UTF-8 (C0 AF)", bytes: bytes(#"{"event":""#) + [0xC0, 0xAF] + line(#""}"#), answers: [.refused("invalid_json", message: "not valid UTF-8")]),
        Case(name: "UTF-8-encoded surrogate (ED A0 80)", bytes: bytes(#"{"event":""#) + [0xED, 0xA0, 0x80] + line(#""}"#), answers: [.refused("invalid_json", message: "not valid UTF-8")]),
        Case(name: "truncated UTF-8 sequence", bytes: bytes(#"{"event":""#) + [0xE2, 0x82] + line(#""}"#), answers: [.refused("invalid_json", message: "not valid UTF-8")]),
        Case(name: "UTF-8 byte-order mark", bytes: [0xEF, 0xBB, 0xBF] + line(event("bom")), answers: [.refused("invalid_json", message: "non-ASCII")]),
        Case(name: "UTF-16LE text", bytes: Array(event("u16").utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }) + [0x0A], answers: [.refused("invalid_json")]),
        Case(name: "lone surrogate escape (\\ud800)", bytes: line(event("lone", #","url":"\ud800""#)), answers: [.ok(stored: #""url":"\ud800""#)]),
        Case(name: "escaped surrogate pair", bytes: line(#"{"event":"\ud83d\ude00","event_id":"pair"}"#), answers: [.ok(stored: #""event":"\#(emoji)""#)]),

        // Sizes
        Case(name: "line of exactly 65,536 bytes", bytes: line(paddedLine(id: "max", size: 65_536)), answers: [.ok(warning: "pad: unknown field, ignored")]),
        Case(name: "line of 65,536 bytes plus CRLF", bytes: bytes(paddedLine(id: "maxcr", size: 65_536)) + [0x0D, 0x0A], answers: [.ok()]),
        Case(name: "line of 65,537 bytes, then a good line", bytes: line(paddedLine(id: "over", size: 65_537)) + line(event("after-over")), answers: [.refused("line_too_long", message: "max_line_bytes"), .ok()]),
        Case(name: "line of 10 MiB, then a good line", bytes: line(paddedLine(id: "huge", size: 10 << 20)) + line(event("after-huge")), answers: [.refused("line_too_long"), .ok()]),
        Case(name: "event of 128 characters", bytes: line(#"{"event":"\#(String(repeating: "a", count: 128))"}"#), answers: [.ok()]),
        Case(name: "event of 129 characters", bytes: line(#"{"event":"\#(String(repeating: "a", count: 129))"}"#), answers: [.refused("invalid_payload", message: "event: 129 characters")]),
        Case(name: "event of 64 emoji (128 UTF-16 units)", bytes: line(#"{"event":"\#(String(repeating: emoji, count: 64))"}"#), answers: [.ok()]),
        Case(name: "event of 65 emoji (130 UTF-16 units)", bytes: line(#"{"event":"\#(String(repeating: emoji, count: 65))"}"#), answers: [.refused("invalid_payload", message: "130 characters")]),
        Case(name: "empty event", bytes: line(#"{"event":""}"#), answers: [.refused("invalid_payload", message: "event: must not be empty")]),
        Case(name: "empty event_id", bytes: line(#"{"event":"e","event_id":""}"#), answers: [.refused("invalid_payload", message: "event_id: must not be empty")]),
        Case(name: "event_id of 129 characters", bytes: line(event(String(repeating: "i", count: 129))), answers: [.refused("invalid_payload", message: "event_id: 129 characters")]),
        Case(name: "properties of exactly 8,192 bytes", bytes: line(event("p8192", #","properties":{"k":"\#(String(repeating: "v", count: 8_192 - 8))"}"#)), answers: [.ok()]),
        Case(name: "properties of 8,193 bytes", bytes: line(event("p8193", #","properties":{"k":"\#(String(repeating: "v", count: 8_193 - 8))"}"#)), answers: [.refused("invalid_payload", message: "properties: 8193 bytes")]),
        Case(name: "properties padded with whitespace (counted compact)", bytes: line(event("pws", #","properties":{"k" :   "\#(String(repeating: "v", count: 8_192 - 8))"   }"#)), answers: [.ok()]),

        // JSON syntax
        Case(name: "not JSON at all", bytes: line("hello"), answers: [.refused("invalid_json")]),
        Case(name: "truncated object", bytes: line(#"{"event":"x""#), answers: [.refused("invalid_json", message: "unexpected end of line")]),
        Case(name: "trailing comma", bytes: line(#"{"event":"x",}"#), answers: [.refused("invalid_json", message: "a string key")]),
        Case(name: "single quotes", bytes: line("{'event':'x'}"), answers: [.refused("invalid_json")]),
        Case(name: "two objects on one line", bytes: line(event("two1") + event("two2")), answers: [.refused("invalid_json", message: "end of the line")]),
        Case(name: "comment", bytes: line(#"{"event":"x"} // note"#), answers: [.refused("invalid_json")]),
        Case(name: "NaN", bytes: line(#"{"event":"x","properties":{"n":NaN}}"#), answers: [.refused("invalid_json")]),
        Case(name: "leading zero", bytes: line(#"{"event":"x","properties":{"n":012}}"#), answers: [.refused("invalid_json")]),
        Case(name: "invalid escape", bytes: line(#"{"event":"\x41"}"#), answers: [.refused("invalid_json", message: "invalid escape")]),

        // Types and fields
        Case(name: "top-level array", bytes: line("[1,2,3]"), answers: [.refused("invalid_payload", message: "not an array")]),
        Case(name: "top-level string", bytes: line(#""signup""#), answers: [.refused("invalid_payload", message: "not a string")]),
        Case(name: "top-level number", bytes: line("42"), answers: [.refused("invalid_payload", message: "not a number")]),
        Case(name: "top-level null", bytes: line("null"), answers: [.refused("invalid_payload", message: "not null")]),
        Case(name: "empty object", bytes: line("{}"), answers: [.refused("invalid_payload", message: "event: required")]),
        Case(name: "event is a number", bytes: line(#"{"event":12}"#), answers: [.refused("invalid_payload", message: "event: must be a string")]),
        Case(name: "event is null", bytes: line(#"{"event":null}"#), answers: [.refused("invalid_payload", message: "event: required")]),
        Case(name: "user_id is a number", bytes: line(#"{"event":"e","user_id":7}"#), answers: [.refused("invalid_payload", message: "user_id: must be a string or null")]),
        Case(name: "user_id is null (absent)", bytes: line(event("nulluser", #","user_id":null"#)), answers: [.ok()]),
        Case(name: "properties is an array", bytes: line(#"{"event":"e","properties":[1]}"#), answers: [.refused("invalid_payload", message: "properties: must be a JSON object or null, not an array")]),
        Case(name: "unknown type", bytes: line(#"{"type":"page","event":"e"}"#), answers: [.refused("invalid_payload", message: "type: must be")]),
        Case(name: "timestamp not RFC 3339", bytes: line(#"{"event":"e","timestamp":"22/11/2026"}"#), answers: [.refused("invalid_payload", message: "timestamp: must be an RFC 3339")]),
        Case(name: "timestamp without a zone", bytes: line(#"{"event":"e","timestamp":"2026-11-22T10:00:00"}"#), answers: [.refused("invalid_payload", message: "timestamp")]),
        Case(name: "timestamp as a number", bytes: line(#"{"event":"e","timestamp":1763805600}"#), answers: [.refused("invalid_payload", message: "timestamp: must be a string")]),
        Case(name: "identify without user_id", bytes: line(#"{"type":"identify","anonymous_id":"a"}"#), answers: [.refused("invalid_payload", message: "user_id: required for identify")]),
        Case(name: "forget without user_id", bytes: line(#"{"type":"forget"}"#), answers: [.refused("invalid_payload", message: "user_id: required for forget")]),
        Case(name: "derived field (country)", bytes: line(event("derived", #","country":"FR""#)), answers: [.ok(warning: "country: derived by the API, ignored")]),
        Case(name: "unknown field", bytes: line(event("unknown", #","colour":"blue""#)), answers: [.ok(warning: "colour: unknown field, ignored")]),
        Case(name: "track-only field on identify", bytes: line(#"{"type":"identify","anonymous_id":"a","user_id":"u","event":"x"}"#), answers: [.ok(warning: "event: not used by identify, ignored")]),

        // Nesting and numbers
        Case(name: "properties nested 63 deep", bytes: line(event("deep63", #","properties":\#(nested(63))"#)), answers: [.ok()]),
        Case(name: "properties nested 64 deep", bytes: line(event("deep64", #","properties":\#(nested(64))"#)), answers: [.refused("invalid_payload", message: "nested deeper than 64")]),
        Case(name: "100,000 opening brackets", bytes: line(String(repeating: "[", count: 100_000)), answers: [.refused("line_too_long")]),
        Case(name: "60,000 opening brackets (within the line cap)", bytes: line(String(repeating: "[", count: 60_000)), answers: [.refused("invalid_payload", message: "nested deeper than 64")]),
        Case(name: "number beyond double range (1e400)", bytes: line(event("inf", #","properties":{"n":1e400}"#)), answers: [.ok(stored: #""properties":{"n":null}"#)]),
        Case(name: "30-digit integer", bytes: line(event("bigint", #","properties":{"n":123456789012345678901234567890}"#)), answers: [.ok(stored: #"{"n":1.2345678901234568e+29}"#)]),
        Case(name: "negative zero and exponents", bytes: line(event("zero", #","properties":{"a":-0,"b":1E2,"c":1.50}"#)), answers: [.ok(stored: #"{"a":0,"b":100,"c":1.5}"#)]),
        Case(name: "5,000-digit number", bytes: line(event("longnum", #","properties":{"n":\#(String(repeating: "9", count: 5_000))}"#)), answers: [.ok(stored: #"{"n":null}"#)]),
        Case(name: "duplicate top-level key (last wins)", bytes: line(#"{"event":"first","event":"second","event_id":"dup"}"#), answers: [.ok(stored: #""event":"second""#)]),
        Case(name: "duplicate key inside properties (kept twice)", bytes: line(event("dupnested", #","properties":{"k":1,"k":2}"#)), answers: [.ok(stored: #""properties":{"k":1,"k":2}"#)]),
        Case(name: "duplicate unknown key (one warning)", bytes: line(event("dupwarn", #","x":1,"x":2"#)), answers: [.ok(warning: "x: unknown field, ignored")]),
    ]

    /// One daemon for the whole table: each case is its own connection, so they cannot
    /// disturb each other, and a failure names its case.
    @Test func eachBadInputGetsItsAnswerAndTheRelayKeepsServing() throws {
        let relay = try RelayProcess()
        defer { relay.terminate() }
        for testCase in Self.cases {
            try check(testCase, relay: relay)
        }
        #expect(relay.isRunning)
    }

    private func check(_ testCase: Case, relay: RelayProcess) throws {
        let name = testCase.name
        let acks = try RelayConnection(path: relay.socketPath).exchange(testCase.bytes)
        if ProcessInfo.processInfo.environment["MILLIMETRIC_PRINT_CATALOGUE"] != nil {
            // `MILLIMETRIC_PRINT_CATALOGUE=1 swift test --filter BadInputTests` prints the rows
            // of docs/bad-input-catalogue.md as the relay answers them now.
            let shown = acks.isEmpty ? "(no ack)" : acks.map { "`\($0.count > 160 ? String($0.prefix(157)) + "…" : $0)`" }.joined(separator: "<br>")
            print("CATALOGUE| \(name) | \(testCase.bytes.count) | \(shown.replacingOccurrences(of: "|", with: "\\|")) |")
        }
        guard acks.count == testCase.answers.count else {
            Issue.record("\(name): expected \(testCase.answers), got \(acks.map { $0.prefix(200) })")
            return
        }
        for (ack, answer) in zip(acks, testCase.answers) {
            guard let object = try JSONSerialization.jsonObject(with: Data(ack.utf8)) as? [String: Any] else {
                Issue.record("\(name): the ack is not a JSON object: \(ack)")
                continue
            }
            switch answer {
            case .ok(let warning, let stored):
                #expect(object["ok"] as? Bool == true, "\(name): \(ack)")
                if let warning {
                    #expect((object["warnings"] as? [String])?.contains(warning) == true, "\(name): \(ack)")
                }
                if let stored, let id = object["event_id"] as? String {
                    let body = try relay.queuedBody(eventID: id) ?? "(not stored)"
                    #expect(body.contains(stored), "\(name): stored \(body.prefix(300))")
                }
            case .refused(let code, let message):
                #expect(object["ok"] as? Bool == false, "\(name): \(ack)")
                #expect(object["error"] as? String == code, "\(name): \(ack)")
                if let message {
                    #expect((object["message"] as? String)?.contains(message) == true, "\(name): \(ack)")
                }
            }
        }
    }

    // MARK: - Connection abuse

    @Test func aClientStalledMidLineIsClosedAfterThirtySecondsAndAnIdleOneIsNot() throws {
        let relay = try RelayProcess()
        defer { relay.terminate() }
        let stalled = try IngestClient(path: relay.socketPath)
        let idle = try IngestClient(path: relay.socketPath)
        let start = ContinuousClock.now
        stalled.write(Self.line(Self.event("before-stall")) + Self.bytes(#"{"event":"stal"#))
        idle.write(Self.line(Self.event("before-idle")))
        var stalledAcks: [String] = []
        stalled.readLines { stalledAcks.append($0) }  // returns when the daemon closes
        let closedAfter = ContinuousClock.now - start
        #expect(stalledAcks == [#"{"ok":true,"event_id":"before-stall"}"#])
        #expect(closedAfter >= .seconds(29) && closedAfter < .seconds(45), "closed after \(closedAfter)")
        // The idle connection (no partial line) is still open and works.
        idle.write(Self.line(Self.event("after-idle")))
        idle.finishWriting()
        var idleAcks: [String] = []
        idle.readLines { idleAcks.append($0) }
        #expect(idleAcks == [#"{"ok":true,"event_id":"before-idle"}"#, #"{"ok":true,"event_id":"after-idle"}"#])
    }

    @Test func connectionsOverMaxConnectionsAreClosedAndTheOthersKeepWorking() throws {
        let relay = try RelayProcess(environment: RelayProcess.metricsOnAnyPort.merging(["MILLIMETRIC_RELAY_MAX_CONNECTIONS": "4"]) { $1 })
        defer { relay.terminate() }
        // The daemon's own count of connections: admitted since start, and open now.
        var seen: (admitted: Double?, open: Double?) = (nil, nil)
        func connections() throws -> (admitted: Double?, open: Double?) {
            seen = (try relay.metric("millimetric_relay_ingest_connections_accepted_total"), try relay.metric("millimetric_relay_ingest_connections"))
            return seen
        }
        // RelayProcess's readiness probe was the one connection so far: wait until the daemon has
        // admitted it and seen it close, so that it takes none of the four places.
        #expect(try RelayProcess.eventually(timeout: .seconds(20)) { try connections() == (1, 0) }, "connections: \(seen)")
        let held = try (0..<4).map { _ in try IngestClient(path: relay.socketPath) }
        for (index, client) in held.enumerated() { client.write(Self.line(Self.event("held-\(index)"))) }
        // All four admitted and open: the next one is over the limit.
        #expect(try RelayProcess.eventually(timeout: .seconds(20)) { try connections() == (5, 4) }, "connections: \(seen)")
        // The fifth is accepted by the kernel, then closed by the daemon without reading.
        let extra = try IngestClient(path: relay.socketPath)
        // Bounded, so that a daemon that wrongly admits it fails the test instead of hanging it.
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(extra.descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        extra.write(Self.line(Self.event("extra")))
        var extraAcks: [String] = []
        extra.readLines { extraAcks.append($0) }
        #expect(extraAcks.isEmpty)
        for (index, client) in held.enumerated() {
            client.finishWriting()
            var acks: [String] = []
            client.readLines { acks.append($0) }
            #expect(acks == [#"{"ok":true,"event_id":"held-\#(index)"}"#])
        }
        #expect(relay.allOutput.contains("max connections reached"))
        #expect(try relay.queuedEventIDs()["extra"] == nil)
        #expect(try relay.metric("millimetric_relay_ingest_connections_accepted_total") == 5, "the refused one is not counted as admitted")
    }

    @Test func aClientThatVanishesMidPipelineDoesNotDisturbOthers() throws {
        let relay = try RelayProcess()
        defer { relay.terminate() }
        for round in 0..<20 {
            let client = try IngestClient(path: relay.socketPath)
            let lines = (0..<2_000).map { Self.event("gone-\(round)-\($0)") }.joined(separator: "\n") + "\n"
            client.write(Array(lines.utf8))
            // Close with unread acks (RST): lines already read may be committed, nothing is acked.
            var linger = linger(l_onoff: 1, l_linger: 0)
            setsockopt(client.descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
        }
        #expect(try relay.send([Self.event("still-fine")]) == [#"{"ok":true,"event_id":"still-fine"}"#])
        #expect(relay.isRunning)
    }

    @Test func forgetFromAPeerThatIsNotAllowedIsForbidden() throws {
        let relay = try RelayProcess(environment: ["MILLIMETRIC_RELAY_FORGET_ALLOWED_UIDS": "54321"])
        defer { relay.terminate() }
        let acks = try relay.send([#"{"type":"forget","user_id":"u1"}"#])
        #expect(acks.first?.contains(#""error":"forbidden""#) == true, "\(acks)")
        #expect(acks.first?.contains("forget_allowed_uids") == true)
    }
}
