/// Turns one line into a ``ValidatedEvent`` or an ``IngestRejection``, mirroring the API's own
/// rules (SPEC §5) so that nothing the API would refuse sits in the outbox.
///
/// It parses and canonicalises in one pass (``JSONTranscoder``), strips the fields the API
/// derives itself and unknown fields (naming them in warnings), treats `null` as absent, and
/// stamps `event_id` and `timestamp` before the commit, so that every retry carries the same id
/// and a late delivery keeps the time the event happened.
public struct EventValidator: Sendable {
    /// The API's caps (SPEC §5).
    public static let maximumNameLength = 128
    public static let maximumObjectBytes = 8_192

    public init() {}

    /// The fields the relay understands, in the order it writes them.
    enum Field: Int, CaseIterable {
        case type, event, eventID, timestamp, anonymousID, userID, sessionID, url, path, referrer, properties, traits

        var name: String {
            switch self {
            case .type: "type"
            case .event: "event"
            case .eventID: "event_id"
            case .timestamp: "timestamp"
            case .anonymousID: "anonymous_id"
            case .userID: "user_id"
            case .sessionID: "session_id"
            case .url: "url"
            case .path: "path"
            case .referrer: "referrer"
            case .properties: "properties"
            case .traits: "traits"
            }
        }

        /// Fields whose decoded text validation needs.
        var needsDecodedText: Bool {
            switch self {
            case .type, .eventID, .timestamp, .userID, .anonymousID: true
            default: false
            }
        }

        /// The field a decoded key names, if any. A switch on the length and a byte compare:
        /// this runs for every key of every line, where hashing the key cost more.
        static func named(_ key: [UInt8]) -> Field? {
            let candidates: [Field]
            switch key.count {
            case 3: candidates = [.url]
            case 4: candidates = [.type, .path]
            case 5: candidates = [.event]
            case 6: candidates = [.traits]
            case 7: candidates = [.userID]
            case 8: candidates = [.eventID, .referrer]
            case 9: candidates = [.timestamp]
            case 10: candidates = [.sessionID, .properties]
            case 12: candidates = [.anonymousID]
            default: return nil
            }
            return candidates.first { field in field.name.utf8.elementsEqual(key) }
        }
    }

    /// What the API derives itself; sending them is pointless, so they are stripped with a warning.
    static let derivedFields: Set<[UInt8]> = Set(
        ["source", "medium", "campaign", "source_confidence", "source_rule_id", "country", "device_type", "browser",
         "os", "ip_hash"].map { Array($0.utf8) })

    /// Fields each kind forwards; the rest of the known fields are ignored for it, with a warning.
    static func accepts(_ field: Field, for kind: EventKind) -> Bool {
        switch (kind, field) {
        case (_, .type), (_, .eventID): true
        case (.track, .traits): false
        case (.track, _): true
        case (.identify, .anonymousID), (.identify, .userID), (.identify, .traits): true
        case (.forget, .userID): true
        default: false
        }
    }

    struct Slot {
        var range: Range<Int>
        var kind: JSONTranscoder.ValueKind
        var decoded: [UInt8]
    }

    /// Validates one line (without its line end).
    ///
    /// - Parameter receivedTimestamp: the RFC 3339 time the line was read, stamped on track
    ///   events without a `timestamp`.
    public func validate(_ line: UnsafeRawBufferPointer, receivedTimestamp: [UInt8]) -> Result<ValidatedEvent, IngestRejection> {
        var parser = JSONTranscoder(bytes: line)
        var scratch = [UInt8]()
        scratch.reserveCapacity(line.count + 16)
        var slots = [Slot?](repeating: nil, count: Field.allCases.count)
        var ignored: [(key: [UInt8], reason: String)] = []
        var keyLiteral = [UInt8]()

        do throws(JSONSyntaxError) {
            guard parser.peek() == UInt8(ascii: "{") else {
                if parser.peek() == nil { throw JSONSyntaxError.syntax("empty line", at: 0) }
                // Valid JSON that is not an object is a payload error; invalid JSON is not.
                var sink = [UInt8]()
                let kind = try parser.transcodeValue(into: &sink)
                if let trailing = parser.peek() {
                    _ = trailing
                    throw parser.unexpected("the end of the line")
                }
                return .failure(IngestRejection(.invalidPayload, "the line must be a JSON object such as {\"event\":\"signup\"}, not \(Self.describe(kind))"))
            }
            _ = parser.consume(UInt8(ascii: "{"))
            if !parser.consume(UInt8(ascii: "}")) {
                while true {
                    guard parser.peek() == UInt8(ascii: "\"") else { throw parser.unexpected("a string key") }
                    keyLiteral.removeAll(keepingCapacity: true)
                    _ = try parser.transcodeString(into: &keyLiteral, captureDecoded: true)
                    let key = parser.decoded
                    try parser.expect(UInt8(ascii: ":"), "':'")
                    let field = Field.named(key)
                    let start = scratch.count
                    parser.skipWhitespace()
                    let isString = parser.peek() == UInt8(ascii: "\"")
                    let kind: JSONTranscoder.ValueKind
                    var decoded: [UInt8] = []
                    if isString, let field, field.needsDecodedText {
                        kind = .string(utf16Count: try parser.transcodeString(into: &scratch, captureDecoded: true))
                        decoded = parser.decoded
                    } else {
                        kind = try parser.transcodeValue(into: &scratch, depth: 1)
                    }
                    if let field {
                        slots[field.rawValue] = Slot(range: start..<scratch.count, kind: kind, decoded: decoded)
                    } else {
                        scratch.removeSubrange(start...)
                        let reason = Self.derivedFields.contains(key) ? "derived by the API" : "unknown field"
                        if !ignored.contains(where: { $0.key == keyLiteral }) {
                            ignored.append((keyLiteral, reason))
                        }
                    }
                    if parser.consume(UInt8(ascii: ",")) { continue }
                    try parser.expect(UInt8(ascii: "}"), "',' or '}'")
                    break
                }
            }
            if parser.peek() != nil { throw parser.unexpected("the end of the line after the JSON object") }
        } catch {
            switch error.kind {
            case .tooDeep: return .failure(IngestRejection(.invalidPayload, error.message))
            case .invalidUTF8, .syntax: return .failure(IngestRejection(.invalidJSON, error.message))
            }
        }

        // JSON null counts as absent.
        for index in slots.indices where slots[index]?.kind == .null { slots[index] = nil }

        let kind: EventKind
        if let type = slots[Field.type.rawValue] {
            switch (type.kind, type.decoded) {
            case (.string, Array("track".utf8)): kind = .track
            case (.string, Array("identify".utf8)): kind = .identify
            case (.string, Array("forget".utf8)): kind = .forget
            default:
                return .failure(IngestRejection(.invalidPayload, "type: must be \"track\", \"identify\" or \"forget\" (or absent for track)"))
            }
        } else {
            kind = .track
        }

        var warnings: [[UInt8]] = []
        for field in Field.allCases where slots[field.rawValue] != nil && !Self.accepts(field, for: kind) {
            warnings.append(Self.literal("\(field.name): not used by \(kind), ignored"))
            slots[field.rawValue] = nil
        }
        for (key, reason) in ignored {
            var note = Array(key.dropLast())
            note += Array(": \(reason), ignored\"".utf8)
            warnings.append(note)
        }

        // Type checks, in field order so the first problem reported is stable.
        for field in Field.allCases {
            guard let slot = slots[field.rawValue] else { continue }
            switch field {
            case .type:
                continue
            case .properties, .traits:
                guard slot.kind == .object else {
                    return .failure(IngestRejection(.invalidPayload, "\(field.name): must be a JSON object or null, not \(Self.describe(slot.kind))"))
                }
                let size = slot.range.count
                if size > Self.maximumObjectBytes {
                    return .failure(IngestRejection(.invalidPayload, "\(field.name): \(size) bytes as compact JSON, at most \(Self.maximumObjectBytes) allowed; send less"))
                }
            default:
                guard case .string(let length) = slot.kind else {
                    return .failure(IngestRejection(.invalidPayload, "\(field.name): must be a string\(field == .event ? "" : " or null"), not \(Self.describe(slot.kind))"))
                }
                switch field {
                case .event, .eventID:
                    if length == 0 {
                        return .failure(IngestRejection(.invalidPayload, "\(field.name): must not be empty (1–\(Self.maximumNameLength) characters)"))
                    }
                    if length > Self.maximumNameLength {
                        return .failure(IngestRejection(.invalidPayload, "\(field.name): \(length) characters, at most \(Self.maximumNameLength) allowed (counted in UTF-16 code units)"))
                    }
                case .timestamp:
                    if !RFC3339.isValid(slot.decoded) {
                        return .failure(IngestRejection(.invalidPayload, "timestamp: must be an RFC 3339 date-time such as 2026-11-22T10:00:00Z or 2026-11-22T10:00:00.123+01:00"))
                    }
                case .userID, .anonymousID:
                    if kind != .track && length == 0 {
                        return .failure(IngestRejection(.invalidPayload, "\(field.name): must not be empty"))
                    }
                default:
                    break
                }
            }
        }

        // Required fields per kind.
        let required: [Field]
        switch kind {
        case .track: required = [.event]
        case .identify: required = [.anonymousID, .userID]
        case .forget: required = [.userID]
        }
        for field in required where slots[field.rawValue] == nil {
            let hint = field == .event ? ", a string of 1–\(Self.maximumNameLength) characters such as \"signup\"" : ", a string"
            return .failure(IngestRejection(.invalidPayload, "\(field.name): required for \(kind)\(hint)"))
        }

        // event_id: the client's, or a new UUID.
        let eventIDLiteral: [UInt8]
        let eventID: String
        if let slot = slots[Field.eventID.rawValue] {
            eventIDLiteral = Array(scratch[slot.range])
            eventID = String(decoding: slot.decoded, as: UTF8.self)
        } else {
            eventIDLiteral = EventID.generateLiteral()
            eventID = String(decoding: eventIDLiteral[1..<(eventIDLiteral.count - 1)], as: UTF8.self)
        }
        let userID = slots[Field.userID.rawValue].map { String(decoding: $0.decoded, as: UTF8.self) }

        var body = [UInt8]()
        body.reserveCapacity(scratch.count + 96)
        body.append(UInt8(ascii: "{"))
        var first = true
        func member(_ name: String, _ value: some Sequence<UInt8>) {
            if !first { body.append(UInt8(ascii: ",")) }
            first = false
            body.append(UInt8(ascii: "\""))
            body.append(contentsOf: name.utf8)
            body.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
            body.append(contentsOf: value)
        }
        for field in Field.allCases where field != .type {
            switch (kind, field) {
            case (.track, .eventID):
                member(field.name, eventIDLiteral)
            case (.track, .timestamp) where slots[field.rawValue] == nil:
                member(field.name, CollectionOfOne(UInt8(ascii: "\"")))
                body.append(contentsOf: receivedTimestamp)
                body.append(UInt8(ascii: "\""))
            case (_, .eventID):
                continue  // identify and forget keep the id as the relay's own handle
            default:
                if let slot = slots[field.rawValue] { member(field.name, scratch[slot.range]) }
            }
        }
        body.append(UInt8(ascii: "}"))

        return .success(ValidatedEvent(kind: kind, eventIDLiteral: eventIDLiteral, eventID: eventID, userID: userID, body: body, warnings: warnings))
    }

    static func describe(_ kind: JSONTranscoder.ValueKind) -> String {
        switch kind {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }

    /// A JSON string literal of plain text (field names and fixed words need no escapes).
    static func literal(_ text: String) -> [UInt8] {
        [UInt8(ascii: "\"")] + Array(text.utf8) + [UInt8(ascii: "\"")]
    }
}
