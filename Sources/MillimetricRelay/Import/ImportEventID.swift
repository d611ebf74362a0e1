/// The `event_id` that `millimetric-relay import` gives a track event without one (issue 16):
/// a name-based UUID (version 5, RFC 9562 §5.5) whose name is the SHA-1 digest of the input
/// read through the end of that line and the line's number. The same content therefore gets
/// the same ids on every run — after a crash, a restart or a second import of the same file —
/// and the API counts each event once. Digesting the content *through the line* rather than the
/// whole file lets stdin be imported in one pass, and keeps the ids of a file's earlier lines
/// when lines are appended to it.
public enum ImportEventID {
    /// The namespace of import ids (a fixed random UUID; changing it would change every id).
    static let namespace: [UInt8] = [
        0x6d, 0x6d, 0x72, 0x2d, 0x8b, 0x1e, 0x4c, 0x53, 0x9a, 0x0f, 0x3e, 0x52, 0x1c, 0x7d, 0x94, 0x16,
    ]

    /// The id for line `line` (1-based) whose input through its end has the digest `digest`.
    public static func make(digest: [UInt8], line: Int) -> String {
        var name = digest
        for shift in stride(from: 56, through: 0, by: -8) { name.append(UInt8(truncatingIfNeeded: UInt64(line) >> UInt64(shift))) }
        return uuid5(namespace: namespace, name: name)
    }

    /// A version 5 UUID (RFC 9562 §5.5) of `name` in `namespace` (16 bytes), in lower case.
    static func uuid5(namespace: [UInt8], name: [UInt8]) -> String {
        var bytes = Array(SHA1.hash(namespace + name).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50  // version 5
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 9562 variant
        let hex = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { text.append(UInt8(ascii: "-")) }
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Whether `line` is a track event (its `type` absent or `"track"`) without a top-level
    /// `event_id` (or with `"event_id": null`, which counts as absent, SPEC §5): the lines that
    /// need an id. A line that does not start with `{` is left alone; a malformed one that
    /// does may be stamped, and the relay refuses it either way.
    public static func needsID(_ line: UnsafeRawBufferPointer) -> Bool {
        // Fast path: most lines name neither key anywhere.
        let mentionsID = Bytes.contains(line, #""event_id""#)
        let mentionsType = Bytes.contains(line, #""type""#)
        // (A key written with escapes, such as "event\u005fid", takes the slow path.)
        if !mentionsID && !mentionsType && !Bytes.contains(line, "\\u") { return isObject(line) }
        var parser = JSONTranscoder(bytes: line)
        var scratch: [UInt8] = []
        do throws(JSONSyntaxError) {
            parser.skipWhitespace()
            try parser.expect(UInt8(ascii: "{"), "an object")
            parser.skipWhitespace()
            var hasID = false
            var isTrack = true
            if parser.consume(UInt8(ascii: "}")) { return true }
            repeat {
                parser.skipWhitespace()
                var key: [UInt8] = []
                _ = try parser.transcodeString(into: &key, captureDecoded: false)
                parser.skipWhitespace()
                try parser.expect(UInt8(ascii: ":"), "':'")
                parser.skipWhitespace()
                scratch.removeAll(keepingCapacity: true)
                _ = try parser.transcodeValue(into: &scratch)
                if Bytes.equal(key, #""event_id""#) {
                    hasID = !Bytes.equal(scratch, "null")
                } else if Bytes.equal(key, #""type""#) {
                    isTrack = Bytes.equal(scratch, #""track""#) || Bytes.equal(scratch, "null")
                }
                parser.skipWhitespace()
            } while parser.consume(UInt8(ascii: ","))
            try parser.expect(UInt8(ascii: "}"), "'}'")
            return isTrack && !hasID
        } catch {
            return false
        }
    }

    /// `line` with `"event_id":"<id>"` as its last member (`line` must be a JSON object). Last,
    /// because the relay keeps the last of repeated keys: the id wins over an `"event_id":null`.
    public static func stamp(_ line: UnsafeRawBufferPointer, id: String) -> [UInt8] {
        guard let brace = line.lastIndex(of: UInt8(ascii: "}")) else { return Array(line) }
        var before = brace - 1
        while before >= 0, line[before] == 0x20 || line[before] == 0x09 { before -= 1 }
        let empty = before >= 0 && line[before] == UInt8(ascii: "{")
        var out: [UInt8] = []
        out.reserveCapacity(line.count + 52)
        out += line[..<brace]
        if !empty { out.append(UInt8(ascii: ",")) }
        out += #""event_id":""#.utf8
        out += id.utf8
        out.append(UInt8(ascii: "\""))
        out += line[brace...]
        return out
    }

    private static func isObject(_ line: UnsafeRawBufferPointer) -> Bool {
        for byte in line where byte != 0x20 && byte != 0x09 { return byte == UInt8(ascii: "{") }
        return false
    }
}
