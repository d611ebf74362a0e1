import FoundationEssentials

/// Splits a `/v1/batch` body, `{"events":[…]}`, into its events: where each member lies in the
/// body, which the socket's ``EventValidator`` then judges in place exactly like one line.
///
/// Ranges and not copies: a batch of 500 events used to cost 500 arrays (one per member, filled
/// by a first transcoding pass) before validation made each event's body; now the members are
/// only checked here (into one reused scratch buffer) and validated straight from the request
/// body, so each event's stored body is its only allocation.
///
/// Other top-level members are ignored, as the API ignores them. Malformed JSON, a missing or
/// non-array `events`, or an empty one is `invalid_payload`; more than 500 events is 413.
enum HTTPBatchBody {
    /// - Parameter skipped: working memory for the syntax check, reused from request to request.
    static func events(in body: UnsafeRawBufferPointer, scratch skipped: inout [UInt8]) -> Result<[Range<Int>], HTTPAPIError> {
        var parser = JSONTranscoder(bytes: body)
        var events: [Range<Int>]?
        do throws(JSONSyntaxError) {
            guard parser.consume(UInt8(ascii: "{")) else {
                if parser.peek() == nil { return .failure(.invalidPayload("The body is empty; send {\"events\":[…]}.")) }
                return .failure(.invalidPayload("The body must be a JSON object {\"events\":[…]}."))
            }
            if !parser.consume(UInt8(ascii: "}")) {
                while true {
                    guard parser.peek() == UInt8(ascii: "\"") else { throw parser.unexpected("a string key") }
                    var key: [UInt8] = []
                    _ = try parser.transcodeString(into: &key, captureDecoded: false)
                    try parser.expect(UInt8(ascii: ":"), "':'")
                    if Bytes.equal(key, #""events""#) {
                        guard parser.consume(UInt8(ascii: "[")) else {
                            skipped.removeAll(keepingCapacity: true)
                            let kind = try parser.transcodeValue(into: &skipped, depth: 1)
                            guard kind == .null else {
                                return .failure(.invalidPayload("events: must be an array of 1–\(HTTPIngestLimits.maximumBatchEvents) events, not \(EventValidator.describe(kind))."))
                            }
                            events = nil
                            if parser.consume(UInt8(ascii: ",")) { continue }
                            try parser.expect(UInt8(ascii: "}"), "',' or '}'")
                            break
                        }
                        var list: [Range<Int>] = []
                        list.reserveCapacity(HTTPIngestLimits.maximumBatchEvents)
                        if !parser.consume(UInt8(ascii: "]")) {
                            while true {
                                parser.skipWhitespace()
                                let start = parser.index
                                skipped.removeAll(keepingCapacity: true)
                                _ = try parser.transcodeValue(into: &skipped, depth: 2)
                                list.append(start..<parser.index)
                                if parser.consume(UInt8(ascii: ",")) { continue }
                                try parser.expect(UInt8(ascii: "]"), "',' or ']'")
                                break
                            }
                        }
                        events = list
                    } else {
                        skipped.removeAll(keepingCapacity: true)
                        _ = try parser.transcodeValue(into: &skipped, depth: 1)
                    }
                    if parser.consume(UInt8(ascii: ",")) { continue }
                    try parser.expect(UInt8(ascii: "}"), "',' or '}'")
                    break
                }
            }
            if parser.peek() != nil { throw parser.unexpected("the end of the body after the JSON object") }
        } catch {
            skipped.removeAll(keepingCapacity: true)
            return .failure(.invalidPayload("Malformed JSON: \(error.message.replacing("end of line", with: "end of body"))."))
        }
        guard let events, !events.isEmpty else {
            return .failure(.invalidPayload("events: required, an array of 1–\(HTTPIngestLimits.maximumBatchEvents) events."))
        }
        if events.count > HTTPIngestLimits.maximumBatchEvents { return .failure(.tooManyEvents(events.count)) }
        return .success(events)
    }
}
