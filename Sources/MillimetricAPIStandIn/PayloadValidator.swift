import Foundation

/// The API's validation of request bodies, written from the API documentation alone.
///
/// It is deliberately independent of the relay's own validator: the stand-in is the oracle that
/// tells whether what the relay forwards would pass upstream. Every refusal is 400
/// `invalid_payload` with a message naming the field, and for a batch the event's index
/// (`events[3].properties: larger than 8 KB`); one bad event refuses the whole batch.
struct PayloadValidator {
    /// The cap on `properties` and `traits` as compact JSON, in UTF-8 bytes.
    static let maxObjectBytes = 8_192
    static let maxBatchEvents = 500
    /// An event whose raw JSON is at most this long cannot have `properties` over 8 KB.
    ///
    /// Re-serializing never makes a string longer than it was in valid JSON (escapes only get
    /// shorter, and `.withoutEscapingSlashes` leaves `/` alone), and a number grows at most about
    /// four times (`9e15`, 4 bytes, prints as 16 digits). So a raw object of 1 KB stays well under
    /// 8 KB, and the expensive `JSONSerialization.data` call is needed only for larger events.
    static let rawFastPathBytes = 1_024
    /// Optional fields that must be strings when present; JSON `null` counts as absent.
    static let optionalStringFields = ["anonymous_id", "user_id", "session_id", "url", "path", "referrer"]

    /// Events whose raw JSON contains these bytes are refused (the `reject_event_marker` fault).
    let rejectMarker: [UInt8]?

    /// Validates a `/v1/batch` body and returns its events in order.
    func batch(_ body: [String: Any], raw: [UInt8]) throws(APIError) -> [ValidatedEvent] {
        guard let value = body["events"], !JSONInput.isNull(value) else {
            throw .invalidPayload("events: required")
        }
        guard let events = value as? [Any] else {
            throw .invalidPayload("events: must be an array")
        }
        guard (1...Self.maxBatchEvents).contains(events.count) else {
            throw .invalidPayload("events: must hold 1 to \(Self.maxBatchEvents) events, got \(events.count)")
        }
        let ranges = RawJSONScanner.eventRanges(in: raw).flatMap { $0.count == events.count ? $0 : nil }
        var validated: [ValidatedEvent] = []
        validated.reserveCapacity(events.count)
        for (index, event) in events.enumerated() {
            let line = ranges.map { Self.line(raw[$0[index]]) } ?? Self.reserialized(event)
            validated.append(try self.event(event, line: line, index: index))
        }
        return validated
    }

    /// Validates a `/v1/track` body, which is one event.
    func track(_ body: [String: Any], raw: [UInt8]) throws(APIError) -> ValidatedEvent {
        try self.event(body, line: Self.line(raw[RawJSONScanner.trimmedRange(of: raw)]), index: nil)
    }

    /// Validates a `/v1/identify` body and returns its `user_id`.
    func identify(_ body: [String: Any], raw: [UInt8]) throws(APIError) -> String {
        _ = try Self.requiredString(body, "anonymous_id")
        let userID = try Self.requiredString(body, "user_id")
        if let traits = body["traits"] {
            guard let object = traits as? [String: Any] else {
                throw .invalidPayload("traits: must be a JSON object")
            }
            try Self.checkSize(of: object, rawCount: raw.count, field: "traits")
        }
        return userID
    }

    /// Validates a `/v1/forget` body and returns its `user_id`.
    func forget(_ body: [String: Any]) throws(APIError) -> String {
        try Self.requiredString(body, "user_id")
    }

    /// Validates one event: the body of a track request (`index` nil), or `events[index]`.
    /// Fields are checked in a fixed order, so an event with several faults always gets the
    /// same message.
    private func event(_ value: Any, line: [UInt8], index: Int?) throws(APIError) -> ValidatedEvent {
        // Messages are built only when needed: building a label for each of 500 events is
        // measurable.
        var objectLabel: String { index.map { "events[\($0)]" } ?? "body" }
        func field(_ name: String) -> String { index.map { "events[\($0)].\(name)" } ?? name }

        guard let event = value as? [String: Any] else {
            throw .invalidPayload("\(objectLabel): must be a JSON object")
        }
        guard let name = event["event"], !JSONInput.isNull(name) else {
            throw .invalidPayload("\(field("event")): required")
        }
        try Self.checkLimitedString(name, field: field("event"))
        var eventID: String?
        if let value = event["event_id"] {
            try Self.checkLimitedString(value, field: field("event_id"))
            eventID = value as? String
        }
        if let value = event["timestamp"] {
            guard let text = value as? String else {
                throw .invalidPayload("\(field("timestamp")): must be an ISO 8601 string")
            }
            guard ISO8601Timestamp.isValid(text) else {
                throw .invalidPayload("\(field("timestamp")): not an ISO 8601 date")
            }
        }
        for key in Self.optionalStringFields {
            if let value = event[key], !JSONInput.isNull(value), !(value is String) {
                throw .invalidPayload("\(field(key)): must be a string or null")
            }
        }
        if let value = event["properties"] {
            guard let properties = value as? [String: Any] else {
                throw .invalidPayload("\(field("properties")): must be a JSON object")
            }
            try Self.checkSize(of: properties, rawCount: line.count, field: field("properties"))
        }
        if let marker = self.rejectMarker, Self.contains(line, marker) {
            throw .invalidPayload("\(objectLabel): rejected (contains reject_event_marker)")
        }
        return ValidatedEvent(eventID: eventID, userID: event["user_id"] as? String, line: line)
    }

    /// `event` and `event_id`: strings of 1 to 128 UTF-16 code units, as JavaScript counts.
    private static func checkLimitedString(_ value: Any, field: String) throws(APIError) {
        guard let text = value as? String else {
            throw .invalidPayload("\(field): must be a string")
        }
        let length = text.utf16.count
        guard length >= 1, length <= 128 else {
            throw .invalidPayload("\(field): must be 1–128 characters, got \(length)")
        }
    }

    private static func requiredString(_ body: [String: Any], _ key: String) throws(APIError) -> String {
        guard let value = body[key], !JSONInput.isNull(value) else {
            throw .invalidPayload("\(key): required")
        }
        guard let text = value as? String, !text.isEmpty else {
            throw .invalidPayload("\(key): must be a non-empty string")
        }
        return text
    }

    /// Refuses an object larger than 8 KB as compact JSON, measured as the API measures
    /// (`JSON.stringify`), here with `JSONSerialization` without escaped slashes.
    private static func checkSize(of object: [String: Any], rawCount: Int, field: String) throws(APIError) {
        if rawCount <= Self.rawFastPathBytes { return }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes]) else {
            throw .invalidPayload("\(field): cannot be serialized as JSON")
        }
        if data.count > Self.maxObjectBytes {
            throw .invalidPayload("\(field): larger than 8 KB")
        }
    }

    /// Raw JSON on one line: outside strings a newline is only whitespace, and inside strings
    /// valid JSON cannot hold one, so replacing CR and LF with spaces changes no value.
    private static func line(_ raw: ArraySlice<UInt8>) -> [UInt8] {
        var bytes = Array(raw)
        if bytes.contains(where: { $0 == 0x0A || $0 == 0x0D }) {
            for index in bytes.indices where bytes[index] == 0x0A || bytes[index] == 0x0D {
                bytes[index] = 0x20
            }
        }
        return bytes
    }

    private static func reserialized(_ value: Any) -> [UInt8] {
        let data = try? JSONSerialization.data(
            withJSONObject: value,
            options: [.withoutEscapingSlashes, .fragmentsAllowed]
        )
        return data.map { Array($0) } ?? Array("null".utf8)
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, needle.count <= haystack.count else { return false }
        var index = 0
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first, haystack[index..<(index + needle.count)].elementsEqual(needle) {
                return true
            }
            index += 1
        }
        return false
    }
}
