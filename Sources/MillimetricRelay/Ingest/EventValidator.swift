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

    // Working memory, reused from line to line: with it, validating a typical event allocates
    // nothing but the event's body. That is why validation is a mutating method of a value
    // each connection owns.
    private var scratch: [UInt8] = []
    /// The line's keys as canonical literals, one after the other: emptied once per line, not
    /// once per key (each emptying is a call into the standard library's `replaceSubrange`).
    private var keyLiterals: [UInt8] = []
    private var slots = [Slot?](repeating: nil, count: Field.allCases.count)
    /// Keys neither known nor repeated, as canonical literals one after the other.
    private var ignoredKeys: [UInt8] = []
    private var ignored: [IgnoredKey] = []
    private var random = RandomBytes()

    public init() {}

    /// The fields the relay understands, in the order it writes them.
    enum Field: Int, CaseIterable {
        case type, event, eventID, timestamp, anonymousID, userID, sessionID, url, path, referrer, properties, traits

        /// The name as a JSON string literal, which is how keys are matched: a key's canonical
        /// literal equals `"name"` exactly when the key decodes to the name. A table on purpose
        /// (`duplicates` sees its halves as a pair): an exhaustive switch of static literals,
        /// compared on every key of every line, with no lookup to initialise.
        var literal: StaticString {
            switch self {
            case .type: #""type""#
            case .event: #""event""#
            case .eventID: #""event_id""#
            case .timestamp: #""timestamp""#
            case .anonymousID: #""anonymous_id""#
            case .userID: #""user_id""#
            case .sessionID: #""session_id""#
            case .url: #""url""#
            case .path: #""path""#
            case .referrer: #""referrer""#
            case .properties: #""properties""#
            case .traits: #""traits""#
            }
        }

        var name: String {
            let literal = self.literal
            return String(decoding: UnsafeBufferPointer(start: literal.utf8Start + 1, count: literal.utf8CodeUnitCount - 2), as: UTF8.self)
        }

        /// The field a key names, if any, from the key's canonical literal. A switch on the
        /// length and a byte compare: this runs for every key of every line.
        static func named(_ keyLiteral: UnsafeRawBufferPointer) -> Field? {
            let first: Field
            var second: Field?
            switch keyLiteral.count - 2 {
            case 3: first = .url
            case 4: first = .type; second = .path
            case 5: first = .event
            case 6: first = .traits
            case 7: first = .userID
            case 8: first = .eventID; second = .referrer
            case 9: first = .timestamp
            case 10: first = .sessionID; second = .properties
            case 12: first = .anonymousID
            default: return nil
            }
            if Bytes.equal(keyLiteral, first.literal) { return first }
            if let second, Bytes.equal(keyLiteral, second.literal) { return second }
            return nil
        }
    }

    /// What the API derives itself; sending them is pointless, so they are stripped with a warning.
    static let derivedFields: [StaticString] = [
        #""source""#, #""medium""#, #""campaign""#, #""source_confidence""#, #""source_rule_id""#, #""country""#,
        #""device_type""#, #""browser""#, #""os""#, #""ip_hash""#,
    ]

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

    /// A key that is stripped: its literal in `ignoredKeys`, and why.
    struct IgnoredKey {
        var range: Range<Int>
        var derived: Bool
    }

    /// A known field's value: its canonical text in `scratch`.
    struct Slot {
        var range: Range<Int>
        var kind: JSONTranscoder.ValueKind
    }

    /// Validates one line (without its line end).
    ///
    /// - Parameters:
    ///   - receivedTimestamp: the RFC 3339 time the line was read, stamped on track events
    ///     without a `timestamp`.
    ///   - fixedKind: the kind the HTTP endpoint (`/v1/identify`, …) decides; a `type` member
    ///     is then ignored, as the API ignores it. Nil on the socket, where `type` decides.
    public mutating func validate(
        _ line: UnsafeRawBufferPointer, receivedTimestamp: [UInt8], fixedKind: EventKind? = nil
    ) -> Result<ValidatedEvent, IngestRejection> {
        defer { releaseOversizedMemory() }
        if let rejection = parseMembers(of: line) { return .failure(rejection) }
        // JSON null counts as absent.
        for index in slots.indices where slots[index]?.kind == .null { slots[index] = nil }
        guard let kind = fixedKind ?? kindFromType() else {
            return .failure(IngestRejection(code: .invalidPayload, message: "type: must be \"track\", \"identify\" or \"forget\" (or absent for track)"))
        }
        let unused = dropFieldsUnused(by: kind)
        if let rejection = checkTypes(of: kind) ?? checkRequiredFields(of: kind) { return .failure(rejection) }
        return .success(assemble(kind: kind, unused: unused, receivedTimestamp: receivedTimestamp))
    }

    /// Parses the line as one JSON object into the slots (known fields) and the ignored keys;
    /// a rejection when it is not valid JSON or not an object.
    private mutating func parseMembers(of line: UnsafeRawBufferPointer) -> IngestRejection? {
        var parser = JSONTranscoder(bytes: line)
        scratch.removeAll(keepingCapacity: true)
        for index in slots.indices { slots[index] = nil }
        keyLiterals.removeAll(keepingCapacity: true)
        ignoredKeys.removeAll(keepingCapacity: true)
        ignored.removeAll(keepingCapacity: true)
        do throws(JSONSyntaxError) {
            guard parser.peek() == UInt8(ascii: "{") else {
                if parser.peek() == nil { throw JSONSyntaxError.syntax("empty line", at: 0) }
                // Valid JSON that is not an object is a payload error; invalid JSON is not.
                let kind = try parser.transcodeValue(into: &scratch)
                if parser.peek() != nil { throw parser.unexpected("the end of the line") }
                return IngestRejection(code: .invalidPayload, message: "the line must be a JSON object such as {\"event\":\"signup\"}, not \(Self.describe(kind))")
            }
            _ = parser.consume(UInt8(ascii: "{"))
            if !parser.consume(UInt8(ascii: "}")) {
                while true {
                    guard parser.peek() == UInt8(ascii: "\"") else { throw parser.unexpected("a string key") }
                    let keyStart = keyLiterals.count
                    _ = try parser.transcodeString(into: &keyLiterals, captureDecoded: false)
                    let key = keyStart..<keyLiterals.count
                    try parser.expect(UInt8(ascii: ":"), "':'")
                    let start = scratch.count
                    let kind = try parser.transcodeValue(into: &scratch, depth: 1)
                    if let field = keyLiterals.withUnsafeBytes({ Field.named(UnsafeRawBufferPointer(rebasing: $0[key])) }) {
                        slots[field.rawValue] = Slot(range: start..<scratch.count, kind: kind)
                    } else {
                        scratch.removeSubrange(start...)
                        noteIgnoredKey(key)
                    }
                    if parser.consume(UInt8(ascii: ",")) { continue }
                    try parser.expect(UInt8(ascii: "}"), "',' or '}'")
                    break
                }
            }
            if parser.peek() != nil { throw parser.unexpected("the end of the line after the JSON object") }
            return nil
        } catch {
            switch error.kind {
            case .tooDeep: return IngestRejection(code: .invalidPayload, message: error.message)
            case .invalidUTF8, .syntax: return IngestRejection(code: .invalidJSON, message: error.message)
            }
        }
    }

    /// The kind the `type` member names (track when absent), as on the socket; nil when it
    /// names none.
    private func kindFromType() -> EventKind? {
        guard let type = slots[Field.type.rawValue] else { return .track }
        // A canonical literal equals "track" exactly when the string decodes to track.
        guard case .string = type.kind else { return nil }
        if scratchEquals(type.range, #""track""#) { return .track }
        if scratchEquals(type.range, #""identify""#) { return .identify }
        if scratchEquals(type.range, #""forget""#) { return .forget }
        return nil
    }

    /// Drops the known fields `kind` does not forward; returns them, for the warnings.
    private mutating func dropFieldsUnused(by kind: EventKind) -> [Field] {
        var unused: [Field] = []
        for field in Field.allCases where slots[field.rawValue] != nil && !Self.accepts(field, for: kind) {
            unused.append(field)
            slots[field.rawValue] = nil
        }
        return unused
    }

    /// The first field `kind` requires that is missing, as a rejection.
    private func checkRequiredFields(of kind: EventKind) -> IngestRejection? {
        let required: [Field]
        switch kind {
        case .track: required = [.event]
        case .identify: required = [.anonymousID, .userID]
        case .forget: required = [.userID]
        }
        for field in required where slots[field.rawValue] == nil {
            let hint = field == .event ? ", a string of 1–\(Self.maximumNameLength) characters such as \"signup\"" : ", a string"
            return IngestRejection(code: .invalidPayload, message: "\(field.name): required for \(kind)\(hint)")
        }
        return nil
    }

    /// Working memory a connection keeps between lines; after a larger line it is given back,
    /// so that a thousand idle connections that each once sent a 200 KB line do not hold 200 MB.
    static let retainedCapacity = 16_384

    /// The bytes of working memory kept now (for tests).
    var retainedBytes: Int { scratch.capacity + keyLiterals.capacity + ignoredKeys.capacity }

    private mutating func releaseOversizedMemory() {
        if scratch.capacity > Self.retainedCapacity { scratch = [] }
        if keyLiterals.capacity > Self.retainedCapacity { keyLiterals = [] }
        if ignoredKeys.capacity > Self.retainedCapacity { ignoredKeys = [] }
        if ignored.count > 64 { ignored = [] }
    }

    /// Remembers the key just parsed (at `key` in `keyLiterals`) as stripped, once however
    /// often it repeats.
    private mutating func noteIgnoredKey(_ key: Range<Int>) {
        let (seen, derived) = ignoredKeys.withUnsafeBytes { keys in
            keyLiterals.withUnsafeBytes { literals in
                let literal = UnsafeRawBufferPointer(rebasing: literals[key])
                return (
                    ignored.contains { UnsafeRawBufferPointer(rebasing: keys[$0.range]).elementsEqual(literal) },
                    Self.derivedFields.contains { Bytes.equal(literal, $0) }
                )
            }
        }
        guard !seen else { return }
        let start = ignoredKeys.count
        ignoredKeys.append(contentsOf: keyLiterals[key])
        ignored.append(IgnoredKey(range: start..<ignoredKeys.count, derived: derived))
    }

    /// Appends the warnings (JSON string literals, comma-separated, as the ack's `warnings`
    /// array holds them) to `side`; returns where they are, or nil when there are none.
    private func appendWarnings(unused: [Field], kind: EventKind, to side: inout [UInt8]) -> ValidatedEvent.Location? {
        guard !unused.isEmpty || !ignored.isEmpty else { return nil }
        let start = side.count
        for field in unused {
            if side.count > start { side.append(UInt8(ascii: ",")) }
            side.append(contentsOf: Self.literal("\(field.name): not used by \(kind), ignored"))
        }
        for key in ignored {
            if side.count > start { side.append(UInt8(ascii: ",")) }
            // The key's literal without its closing quote, then the reason.
            side.append(contentsOf: ignoredKeys[key.range.lowerBound..<(key.range.upperBound - 1)])
            side.append(contentsOf: (key.derived ? ": derived by the API, ignored\"" : ": unknown field, ignored\"").utf8)
        }
        return .side(start..<side.count)
    }

    /// Checks each present field's type and limits, in field order so that the first problem
    /// reported is stable.
    private func checkTypes(of kind: EventKind) -> IngestRejection? {
        for field in Field.allCases {
            guard let slot = slots[field.rawValue] else { continue }
            switch field {
            case .type:
                continue
            case .properties, .traits:
                guard slot.kind == .object else {
                    return IngestRejection(code: .invalidPayload, message: "\(field.name): must be a JSON object or null, not \(Self.describe(slot.kind))")
                }
                let size = slot.range.count
                if size > Self.maximumObjectBytes {
                    return IngestRejection(code: .invalidPayload, message: "\(field.name): \(size) bytes as compact JSON, at most \(Self.maximumObjectBytes) allowed; send less")
                }
            default:
                guard case .string(let length) = slot.kind else {
                    return IngestRejection(code: .invalidPayload, message: "\(field.name): must be a string\(field == .event ? "" : " or null"), not \(Self.describe(slot.kind))")
                }
                switch field {
                case .event, .eventID:
                    if length == 0 {
                        return IngestRejection(code: .invalidPayload, message: "\(field.name): must not be empty (1–\(Self.maximumNameLength) characters)")
                    }
                    if length > Self.maximumNameLength {
                        return IngestRejection(code: .invalidPayload, message: "\(field.name): \(length) characters, at most \(Self.maximumNameLength) allowed (counted in UTF-16 code units)")
                    }
                case .timestamp:
                    // The canonical text without its quotes is the decoded text unless it holds
                    // an escape, and no valid date-time does.
                    let valid = scratch.withUnsafeBytes { bytes in
                        RFC3339.isValid(UnsafeRawBufferPointer(rebasing: bytes[(slot.range.lowerBound + 1)..<(slot.range.upperBound - 1)]))
                    }
                    if !valid {
                        return IngestRejection(code: .invalidPayload, message: "timestamp: must be an RFC 3339 date-time such as 2026-11-22T10:00:00Z or 2026-11-22T10:00:00.123+01:00")
                    }
                case .userID, .anonymousID:
                    if kind != .track && length == 0 {
                        return IngestRejection(code: .invalidPayload, message: "\(field.name): must not be empty")
                    }
                default:
                    break
                }
            }
        }
        return nil
    }

    /// Writes the body (fields in a fixed order, `event_id` and `timestamp` stamped on track
    /// events) and notes where the ids are.
    private mutating func assemble(kind: EventKind, unused: [Field], receivedTimestamp: [UInt8]) -> ValidatedEvent {
        var body = [UInt8]()
        body.reserveCapacity(scratch.count + 16 * Field.allCases.count + EventID.literalLength + receivedTimestamp.count)
        var side = [UInt8]()
        var eventIDLiteral: ValidatedEvent.Location?
        var userIDLiteral: ValidatedEvent.Location?
        body.append(UInt8(ascii: "{"))
        for field in Field.allCases where field != .type {
            let slot = slots[field.rawValue]
            switch (kind, field) {
            case (.track, .eventID):
                Self.appendMemberName(field, to: &body)
                let start = body.count
                if let slot {
                    appendScratch(slot.range, to: &body)
                } else {
                    EventID.appendLiteral(to: &body, using: &random)
                }
                eventIDLiteral = .body(start..<body.count)
            case (.track, .timestamp) where slot == nil:
                Self.appendMemberName(field, to: &body)
                body.append(UInt8(ascii: "\""))
                body.append(contentsOf: receivedTimestamp)
                body.append(UInt8(ascii: "\""))
            case (_, .eventID):
                // Identify and forget keep the id as the relay's own handle, not in the body.
                if let slot {
                    appendScratch(slot.range, to: &side)
                } else {
                    EventID.appendLiteral(to: &side, using: &random)
                }
                eventIDLiteral = .side(0..<side.count)
            default:
                guard let slot else { continue }
                Self.appendMemberName(field, to: &body)
                let start = body.count
                appendScratch(slot.range, to: &body)
                if field == .userID { userIDLiteral = .body(start..<body.count) }
            }
        }
        body.append(UInt8(ascii: "}"))

        // The text of an id is its literal without the quotes, unless the literal has escapes.
        func text(of literal: ValidatedEvent.Location) -> ValidatedEvent.Location {
            let content = (literal.range.lowerBound + 1)..<(literal.range.upperBound - 1)
            let storage = literal.inSide ? side : body
            guard storage[content].contains(UInt8(ascii: "\\")) else {
                return ValidatedEvent.Location(inSide: literal.inSide, range: content)
            }
            let decoded = JSONTranscoder.decodeCanonicalString(Array(storage[literal.range]))
            let start = side.count
            side.append(contentsOf: decoded)
            return .side(start..<side.count)
        }
        let warningsLocation = appendWarnings(unused: unused, kind: kind, to: &side)
        let eventIDLiteralLocation = eventIDLiteral!
        let eventIDLocation = text(of: eventIDLiteralLocation)
        let userIDLocation = userIDLiteral.map(text(of:))
        return ValidatedEvent(
            kind: kind, body: body, side: side, warningsLocation: warningsLocation, eventIDLiteralLocation: eventIDLiteralLocation,
            eventIDLocation: eventIDLocation, userIDLocation: userIDLocation)
    }

    /// Appends `,"name":` (no comma before the first member).
    private static func appendMemberName(_ field: Field, to body: inout [UInt8]) {
        if body.count > 1 { body.append(UInt8(ascii: ",")) }
        let literal = field.literal
        body.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
        body.append(UInt8(ascii: ":"))
    }

    private func appendScratch(_ range: Range<Int>, to out: inout [UInt8]) {
        scratch.withUnsafeBytes { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    private func scratchEquals(_ range: Range<Int>, _ literal: StaticString) -> Bool {
        scratch.withUnsafeBytes { Bytes.equal(UnsafeRawBufferPointer(rebasing: $0[range]), literal) }
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
