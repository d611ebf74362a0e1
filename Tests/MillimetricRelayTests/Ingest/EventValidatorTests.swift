import Testing

@testable import MillimetricRelay

/// SPEC §5, rule by rule.
@Suite struct EventValidatorTests {
    let stamp = Array("2026-11-23T10:00:00.000Z".utf8)

    func validate(_ line: String) -> Result<ValidatedEvent, IngestRejection> {
        var line = line
        var validator = EventValidator()
        return line.withUTF8 { validator.validate(UnsafeRawBufferPointer($0), receivedTimestamp: stamp) }
    }

    func accepted(_ line: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ValidatedEvent {
        switch validate(line) {
        case .success(let event): return event
        case .failure(let rejection):
            Issue.record("expected acceptance, got \(rejection.code.rawValue): \(rejection.message)", sourceLocation: sourceLocation)
            throw rejection
        }
    }

    func rejected(_ line: String, sourceLocation: SourceLocation = #_sourceLocation) -> IngestRejection? {
        switch validate(line) {
        case .success(let event):
            Issue.record("expected a refusal, got \(String(decoding: event.body, as: UTF8.self))", sourceLocation: sourceLocation)
            return nil
        case .failure(let rejection): return rejection
        }
    }

    func body(_ event: ValidatedEvent) -> String { String(decoding: event.body, as: UTF8.self) }

    @Test func aMinimalTrackEventGetsAGeneratedUUIDAndTheReceiveTime() throws {
        let event = try accepted(#"{"event":"signup"}"#)
        #expect(event.kind == .track)
        #expect(event.eventID.count == 36)
        #expect(event.eventID.split(separator: "-").map(\.count) == [8, 4, 4, 4, 12])
        #expect(Array(event.eventID)[14] == "4")
        #expect(body(event) == #"{"event":"signup","event_id":"\#(event.eventID)","timestamp":"2026-11-23T10:00:00.000Z"}"#)
    }

    @Test func generatedEventIDsAreUnique() throws {
        let ids = try (0..<1000).map { _ in try accepted(#"{"event":"a"}"#).eventID }
        #expect(Set(ids).count == 1000)
    }

    @Test func theClientsEventIDAndTimestampAreKept() throws {
        let event = try accepted(#"{"event":"a","event_id":"e-1","timestamp":"2026-11-22T10:00:00.123+01:00"}"#)
        #expect(event.eventID == "e-1")
        #expect(event.eventIDLiteral == Array(#""e-1""#.utf8))
        #expect(body(event) == #"{"event":"a","event_id":"e-1","timestamp":"2026-11-22T10:00:00.123+01:00"}"#)
    }

    @Test func fieldsAreWrittenCompactlyInAFixedOrder() throws {
        let event = try accepted(#" { "properties" : { "b" : [ 1 , 2 ] } , "user_id" : "u1" , "url":"https://x/?a=1", "event" : "e" , "event_id":"i" } "#)
        #expect(body(event) == #"{"event":"e","event_id":"i","timestamp":"2026-11-23T10:00:00.000Z","user_id":"u1","url":"https://x/?a=1","properties":{"b":[1,2]}}"#)
        #expect(event.userID == "u1")
    }

    @Test func anEventOf64EmojiIsAcceptedAnd65Refused() throws {
        let sixtyFour = String(repeating: "😀", count: 64)
        _ = try accepted(#"{"event":"\#(sixtyFour)"}"#)
        let refusal = rejected(#"{"event":"\#(sixtyFour)😀"}"#)
        #expect(refusal?.code == .invalidPayload)
        #expect(refusal?.message.contains("event: 130 characters") == true)
    }

    @Test func eventMustBePresentNonEmptyAndAString() {
        #expect(rejected(#"{"user_id":"u"}"#)?.message.hasPrefix("event: required") == true)
        #expect(rejected(#"{"event":""}"#)?.message.hasPrefix("event: must not be empty") == true)
        #expect(rejected(#"{"event":42}"#)?.message.hasPrefix("event: must be a string") == true)
        #expect(rejected(#"{"event":null}"#)?.message.hasPrefix("event: required") == true)
        _ = try? accepted(#"{"event":"\#(String(repeating: "a", count: 128))"}"#)
        #expect(rejected(#"{"event":"\#(String(repeating: "a", count: 129))"}"#)?.code == .invalidPayload)
    }

    @Test func eventIDIsLimitedTo128UTF16Units() throws {
        _ = try accepted(#"{"event":"a","event_id":"\#(String(repeating: "é", count: 128))"}"#)
        #expect(rejected(#"{"event":"a","event_id":"\#(String(repeating: "é", count: 129))"}"#)?.message.hasPrefix("event_id: 129") == true)
        #expect(rejected(#"{"event":"a","event_id":""}"#)?.message.hasPrefix("event_id: must not be empty") == true)
        #expect(rejected(#"{"event":"a","event_id":7}"#)?.message.hasPrefix("event_id: must be a string") == true)
    }

    @Test func escapedCharactersCountAsTheCharactersTheyStandFor() throws {
        // 128 × "\u00e9" is 128 UTF-16 units although 768 bytes long.
        _ = try accepted(#"{"event":"\#(String(repeating: #"\u00e9"#, count: 128))"}"#)
        // A surrogate pair counts as two.
        let pairs = String(repeating: #"\ud83d\ude00"#, count: 65)
        #expect(rejected(#"{"event":"\#(pairs)"}"#)?.message.hasPrefix("event: 130") == true)
    }

    @Test func propertiesOfExactly8192BytesAreAcceptedAnd8193Refused() throws {
        // {"k":"…"} is 8 bytes of framing.
        let exact = #"{"k":"\#(String(repeating: "x", count: 8_184))"}"#
        #expect(exact.utf8.count == 8_192)
        _ = try accepted(#"{"event":"a","properties":\#(exact)}"#)
        let over = #"{"k":"\#(String(repeating: "x", count: 8_185))"}"#
        let refusal = rejected(#"{"event":"a","properties":\#(over)}"#)
        #expect(refusal?.message == "properties: 8193 bytes as compact JSON, at most 8192 allowed; send less")
    }

    @Test func propertiesAreMeasuredAsCompactJSONNotAsWritten() throws {
        // Whitespace and escapes that JSON.stringify would drop do not count.
        let padded = #"{ "k" : "\#(String(repeating: #"\u0078"#, count: 8_184))" }"#
        _ = try accepted(#"{"event":"a","properties":\#(padded)}"#)
    }

    @Test func propertiesAndTraitsMustBeObjects() {
        #expect(rejected(#"{"event":"a","properties":[1]}"#)?.message.hasPrefix("properties: must be a JSON object") == true)
        #expect(rejected(#"{"event":"a","properties":"x"}"#)?.code == .invalidPayload)
        #expect(rejected(#"{"type":"identify","anonymous_id":"a","user_id":"u","traits":3}"#)?.message.hasPrefix("traits: must be a JSON object") == true)
    }

    @Test func nullOptionalFieldsCountAsAbsentAndAreNotForwarded() throws {
        let event = try accepted(#"{"event":"a","event_id":"x","user_id":null,"properties":null,"timestamp":null}"#)
        #expect(body(event) == #"{"event":"a","event_id":"x","timestamp":"2026-11-23T10:00:00.000Z"}"#)
        #expect(event.userID == nil)
        #expect(event.warnings.isEmpty)
    }

    @Test func derivedAndUnknownFieldsAreStrippedAndNamedInWarnings() throws {
        let event = try accepted(#"{"event":"a","event_id":"x","country":"FR","browser":"x","colour":"blue"}"#)
        #expect(body(event) == #"{"event":"a","event_id":"x","timestamp":"2026-11-23T10:00:00.000Z"}"#)
        let warnings = event.warnings.map { String(decoding: $0, as: UTF8.self) }
        #expect(warnings == [#""country: derived by the API, ignored""#, #""browser: derived by the API, ignored""#, #""colour: unknown field, ignored""#])
        for field in ["source", "medium", "campaign", "source_confidence", "source_rule_id", "country", "device_type", "browser", "os", "ip_hash"] {
            let e = try accepted(#"{"event":"a","\#(field)":1}"#)
            #expect(e.warnings.count == 1)
            #expect(!body(e).contains(field))
        }
    }

    @Test func optionalStringFieldsMustBeStrings() {
        for field in ["anonymous_id", "user_id", "session_id", "url", "path", "referrer"] {
            #expect(rejected(#"{"event":"a","\#(field)":{}}"#)?.message.hasPrefix("\(field): must be a string or null") == true)
        }
    }

    @Test(arguments: [
        "2026-11-22T10:00:00Z", "2026-11-22T10:00:00.123+01:00", "2024-02-29T23:59:59.5-08:00", "2026-11-22T10:00:00.123456789Z",
    ])
    func strictRFC3339TimestampsAreAccepted(_ timestamp: String) throws {
        _ = try accepted(#"{"event":"a","timestamp":"\#(timestamp)"}"#)
    }

    @Test(arguments: [
        "2026-11-22 10:00:00Z", "2026-11-22T10:00:00", "2026-11-22t10:00:00z", "2026-02-30T10:00:00Z", "2025-02-29T10:00:00Z",
        "2026-11-22T24:00:00Z", "2026-11-22T10:00:60Z", "2026-13-01T10:00:00Z", "2026-11-22T10:00:00.Z", "2026-11-22T10:00:00+0100",
        "yesterday", "", "2026-11-22T10:00:00.1234567890Z",
    ])
    func looseTimestampsAreRefused(_ timestamp: String) {
        #expect(rejected(#"{"event":"a","timestamp":"\#(timestamp)"}"#)?.message.hasPrefix("timestamp: must be an RFC 3339") == true)
    }

    @Test func nonObjectsAreInvalidPayloadAndBrokenJSONIsInvalidJSON() {
        #expect(rejected("[1,2]")?.code == .invalidPayload)
        #expect(rejected("\"text\"")?.code == .invalidPayload)
        #expect(rejected("42")?.code == .invalidPayload)
        #expect(rejected("{\"event\":")?.code == .invalidJSON)
        #expect(rejected("{event:\"a\"}")?.code == .invalidJSON)
        #expect(rejected("{\"event\":\"a\"} trailing")?.code == .invalidJSON)
        #expect(rejected("{\"event\":\"a\",}")?.code == .invalidJSON)
        #expect(rejected("{\"event\":'a'}")?.code == .invalidJSON)
        #expect(rejected("{\"event\":\"a\tb\"}")?.code == .invalidJSON)
        #expect(rejected("{\"event\":01}")?.code == .invalidJSON)
        #expect(rejected("{\"event\":\"\\x\"}")?.code == .invalidJSON)
    }

    @Test func invalidUTF8IsRefusedAsInvalidJSON() {
        for bytes: [UInt8] in [[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xE0, 0x80, 0x80], [0xF4, 0x90, 0x80, 0x80]] {
            let line = Array(#"{"event":""#.utf8) + bytes + Array(#""}"#.utf8)
            var validator = EventValidator()
            let result = line.withUnsafeBytes { validator.validate($0, receivedTimestamp: stamp) }
            guard case .failure(let rejection) = result else {
                Issue.record("accepted \(bytes)")
                continue
            }
            #expect(rejection.code == .invalidJSON)
            #expect(rejection.message.contains("UTF-8"))
        }
    }

    @Test func deepNestingIsRefusedWithoutCrashing() {
        let deep = String(repeating: "[", count: 100_000)
        #expect(rejected(#"{"event":"a","properties":{"x":\#(deep)}}"#)?.code == .invalidPayload)
    }

    @Test func theTypeFieldSelectsTheKindAndMustBeKnown() throws {
        #expect(try accepted(#"{"type":"track","event":"a"}"#).kind == .track)
        #expect(try accepted(#"{"type":null,"event":"a"}"#).kind == .track)
        #expect(rejected(#"{"type":"page","event":"a"}"#)?.message.hasPrefix("type: must be") == true)
        #expect(!body(try accepted(#"{"type":"track","event":"a"}"#)).contains("type"))
    }

    @Test func identifyNeedsBothIdsAndForwardsTraits() throws {
        let event = try accepted(#"{"type":"identify","anonymous_id":"u_abc","user_id":"user_42","traits":{"plan":"pro"}}"#)
        #expect(event.kind == .identify)
        #expect(event.userID == "user_42")
        #expect(body(event) == #"{"anonymous_id":"u_abc","user_id":"user_42","traits":{"plan":"pro"}}"#)
        #expect(rejected(#"{"type":"identify","user_id":"u"}"#)?.message.hasPrefix("anonymous_id: required for identify") == true)
        #expect(rejected(#"{"type":"identify","anonymous_id":"a"}"#)?.message.hasPrefix("user_id: required for identify") == true)
        let big = #"{"k":"\#(String(repeating: "x", count: 8_185))"}"#
        #expect(rejected(#"{"type":"identify","anonymous_id":"a","user_id":"u","traits":\#(big)}"#)?.message.hasPrefix("traits: 8193 bytes") == true)
    }

    @Test func identifyWarnsAboutTrackOnlyFields() throws {
        let event = try accepted(#"{"type":"identify","anonymous_id":"a","user_id":"u","event":"x","properties":{}}"#)
        #expect(body(event) == #"{"anonymous_id":"a","user_id":"u"}"#)
        #expect(event.warnings.map { String(decoding: $0, as: UTF8.self) } == [#""event: not used by identify, ignored""#, #""properties: not used by identify, ignored""#])
    }

    @Test func forgetNeedsANonEmptyUserID() throws {
        let event = try accepted(#"{"type":"forget","user_id":"user_42"}"#)
        #expect(event.kind == .forget)
        #expect(body(event) == #"{"user_id":"user_42"}"#)
        #expect(rejected(#"{"type":"forget"}"#)?.message.hasPrefix("user_id: required for forget") == true)
        #expect(rejected(#"{"type":"forget","user_id":""}"#)?.message.hasPrefix("user_id: must not be empty") == true)
    }

    @Test func aRepeatedTopLevelKeyKeepsTheLastValueAsJavaScriptDoes() throws {
        let event = try accepted(#"{"event":"first","event":"second","event_id":"x"}"#)
        #expect(body(event).hasPrefix(#"{"event":"second""#))
    }

    @Test func keysAreComparedAfterUnescaping() throws {
        let event = try accepted(#"{"\u0065vent":"a","event_id":"x"}"#)
        #expect(body(event).hasPrefix(#"{"event":"a""#))
    }

    @Test func idsWrittenWithEscapesAreStoredAsTheirText() throws {
        let event = try accepted(#"{"event":"a","event_id":"id\"1\u00e9","user_id":"u\\2\ud800"}"#)
        #expect(event.eventIDLiteral == Array(#""id\"1é""#.utf8))
        #expect(event.eventID == "id\"1é")
        // A lone surrogate stays escaped in the body (as JSON.stringify writes it) and becomes
        // U+FFFD in the text the outbox matches a forget against.
        #expect(event.userID == "u\\2\u{FFFD}")
        #expect(body(event) == #"{"event":"a","event_id":"id\"1é","timestamp":"2026-11-23T10:00:00.000Z","user_id":"u\\2\ud800"}"#)
    }

    @Test func identifyAndForgetKeepTheirIdOutsideTheBody() throws {
        let identify = try accepted(#"{"type":"identify","anonymous_id":"a","user_id":"u","event_id":"i-\n1"}"#)
        #expect(identify.eventIDLiteral == Array(#""i-\n1""#.utf8))
        #expect(identify.eventID == "i-\n1")
        #expect(!body(identify).contains("i-"))
        let forget = try accepted(#"{"type":"forget","user_id":"u"}"#)
        #expect(forget.eventIDLiteral.count == 38)
        #expect(forget.eventID.count == 36)
        #expect(forget.userID == "u")
    }

    @Test func aValidatorReusedForManyLinesKeepsNothingOfTheLastOne() throws {
        var validator = EventValidator()
        func run(_ line: String) -> Result<ValidatedEvent, IngestRejection> {
            var line = line
            return line.withUTF8 { validator.validate(UnsafeRawBufferPointer($0), receivedTimestamp: stamp) }
        }
        let lines = [
            #"{"event":"a","user_id":"u1","properties":{"k":1},"country":"x"}"#,
            #"{"event":"b"}"#,
            #"{"type":"identify","anonymous_id":"a","user_id":"u2"}"#,
            #"{"event":1}"#,
            #"{"event":"c","event_id":"e"}"#,
        ]
        var seen: [ValidatedEvent] = []
        for line in lines {
            let reused = run(line)
            let fresh = try? validate(line).get()
            switch reused {
            case .success(let event):
                #expect(event.body.count == fresh?.body.count)
                #expect(event.userID == fresh?.userID)
                #expect(event.warnings == fresh?.warnings)
                seen.append(event)
            case .failure(let rejection):
                #expect(fresh == nil, "\(rejection)")
            }
        }
        #expect(seen.count == 4)
        #expect(String(decoding: seen[1].body, as: UTF8.self).hasPrefix(#"{"event":"b","event_id":""#))
        #expect(seen[1].userID == nil && seen[1].warnings.isEmpty)
        #expect(seen[3].eventID == "e")
        #expect(Set(seen.map(\.eventID)).count == 4)
    }

    @Test func aLargeLineDoesNotLeaveItsWorkingMemoryBehind() throws {
        var validator = EventValidator()
        func run(_ line: String) -> Result<ValidatedEvent, IngestRejection> {
            var line = line
            return line.withUTF8 { validator.validate(UnsafeRawBufferPointer($0), receivedTimestamp: stamp) }
        }
        let big = #"{"event":"a","url":"\#(String(repeating: "u", count: 200_000))","\#(String(repeating: "k", count: 100_000))":1}"#
        let event = try run(big).get()
        #expect(event.body.count > 200_000)
        #expect(validator.retainedBytes <= 3 * EventValidator.retainedCapacity)
        // And it still works afterwards.
        #expect(try String(decoding: run(#"{"event":"b","event_id":"x"}"#).get().body, as: UTF8.self).hasPrefix(#"{"event":"b""#))
    }
}
