/// Finds the raw bytes of each event in a request body that `JSONSerialization` already parsed.
///
/// The stand-in keeps events "as received" and matches `reject_event_marker` against each event's
/// raw JSON, so it needs every event's own bytes. Re-serializing the parsed objects would change
/// them (key order, number spelling, escapes) and cost more than the parse itself; this scanner
/// only skips over strings and brackets. It is run on bodies that parsed, so it never has to
/// diagnose bad JSON: it returns nil on anything unexpected (for example a duplicated "events"
/// key) and the caller falls back to re-serializing.
struct RawJSONScanner {
    private let bytes: [UInt8]
    private var index = 0

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The byte ranges of the elements of the top-level object's "events" array.
    static func eventRanges(in body: [UInt8]) -> [Range<Int>]? {
        var scanner = RawJSONScanner(bytes: body)
        return scanner.scanEventsArray()
    }

    /// The body without leading and trailing whitespace.
    static func trimmedRange(of body: [UInt8]) -> Range<Int> {
        var start = body.startIndex
        var end = body.endIndex
        while start < end, isWhitespace(body[start]) { start += 1 }
        while end > start, isWhitespace(body[end - 1]) { end -= 1 }
        return start..<end
    }

    private mutating func scanEventsArray() -> [Range<Int>]? {
        self.skipWhitespace()
        guard self.take(UInt8(ascii: "{")) else { return nil }
        self.skipWhitespace()
        if self.take(UInt8(ascii: "}")) { return nil }
        var found: [Range<Int>]?
        while true {
            guard self.peek == UInt8(ascii: "\""), let keyEnd = self.endOfString(from: self.index) else { return nil }
            let isEvents = self.bytes[(self.index + 1)..<(keyEnd - 1)].elementsEqual("events".utf8)
            self.index = keyEnd
            self.skipWhitespace()
            guard self.take(UInt8(ascii: ":")) else { return nil }
            self.skipWhitespace()
            if isEvents {
                guard found == nil, let ranges = self.scanArrayElements() else { return nil }
                found = ranges
            } else {
                guard let end = self.endOfValue(from: self.index) else { return nil }
                self.index = end
            }
            guard let more = self.another(closedBy: UInt8(ascii: "}")) else { return nil }
            if !more { return found }
        }
    }

    private mutating func scanArrayElements() -> [Range<Int>]? {
        guard self.take(UInt8(ascii: "[")) else { return nil }
        self.skipWhitespace()
        var ranges: [Range<Int>] = []
        if self.take(UInt8(ascii: "]")) { return ranges }
        while true {
            guard let end = self.endOfValue(from: self.index) else { return nil }
            ranges.append(self.index..<end)
            self.index = end
            guard let more = self.another(closedBy: UInt8(ascii: "]")) else { return nil }
            if !more { return ranges }
        }
    }

    /// After a member of an object or array: true past a ',' (another member follows), false
    /// past the closing bracket, nil on anything else.
    private mutating func another(closedBy close: UInt8) -> Bool? {
        self.skipWhitespace()
        if self.take(UInt8(ascii: ",")) {
            self.skipWhitespace()
            return true
        }
        return self.take(close) ? false : nil
    }

    /// The index just past the value that starts at `start`.
    private func endOfValue(from start: Int) -> Int? {
        guard start < self.bytes.count else { return nil }
        switch self.bytes[start] {
        case UInt8(ascii: "\""):
            return self.endOfString(from: start)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var position = start
            while position < self.bytes.count {
                switch self.bytes[position] {
                case UInt8(ascii: "\""):
                    guard let end = self.endOfString(from: position) else { return nil }
                    position = end
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return position + 1 }
                default:
                    break
                }
                position += 1
            }
            return nil
        default:
            var position = start
            while position < self.bytes.count {
                let byte = self.bytes[position]
                if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]")
                    || Self.isWhitespace(byte)
                {
                    break
                }
                position += 1
            }
            return position
        }
    }

    /// The index just past the closing quote of the string whose opening quote is at `start`.
    private func endOfString(from start: Int) -> Int? {
        var position = start + 1
        while position < self.bytes.count {
            switch self.bytes[position] {
            case UInt8(ascii: "\\"):
                position += 2
            case UInt8(ascii: "\""):
                return position + 1
            default:
                position += 1
            }
        }
        return nil
    }

    private var peek: UInt8? {
        self.index < self.bytes.count ? self.bytes[self.index] : nil
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard self.peek == byte else { return false }
        self.index += 1
        return true
    }

    private mutating func skipWhitespace() {
        while let byte = self.peek, Self.isWhitespace(byte) { self.index += 1 }
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }
}
