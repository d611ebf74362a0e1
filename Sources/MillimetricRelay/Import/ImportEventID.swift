#if canImport(Glibc)
import Glibc
#endif

/// The `event_id` that `millimetric-relay import` gives a track event without one (issue 16):
/// a name-based UUID (version 5, RFC 9562 §5.5) whose name is the SHA-1 digest of the input
/// read through the end of that line and the line's number. The same content therefore gets
/// the same ids on every run — after a crash, a restart or a second import of the same file —
/// and the API counts each event once. Digesting the content *through the line* rather than the
/// whole file lets stdin be imported in one pass, and keeps the ids of a file's earlier lines
/// when lines are appended to it.
public enum ImportEventID {
    /// The namespace of import ids (a fixed random UUID; changing it would change every id).
    static let namespace: (UInt64, UInt64) = (
        UInt64(0x6d6d_722d_8b1e_4c53).bigEndian, UInt64(0x9a0f_3e52_1c7d_9416).bigEndian
    )

    /// The id for line `line` (1-based) whose input through its end has the digest `digest`.
    public static func make(digest: [UInt8], line: Int) -> String {
        String(unsafeUninitializedCapacity: 36) { buffer in
            write(digest: SHA1.Digest(digest), line: line, to: UnsafeMutableRawPointer(buffer.baseAddress!))
            return 36
        }
    }

    /// Writes the 36 characters of the id for line `line` with digest `digest` at `out`,
    /// allocating nothing: the name (namespace, digest, line as 8 big-endian bytes: 44 bytes)
    /// is hashed in one compression-function call.
    static func write(digest: SHA1.Digest, line: Int, to out: UnsafeMutableRawPointer) {
        var sha = SHA1()
        withUnsafeTemporaryAllocation(byteCount: 44, alignment: 8) { name in
            let base = name.baseAddress!
            withUnsafeBytes(of: namespace) { base.copyMemory(from: $0.baseAddress!, byteCount: 16) }
            digest.store(to: base + 16)
            base.storeBytes(of: UInt64(line).bigEndian, toByteOffset: 36, as: UInt64.self)
            sha.update(UnsafeRawBufferPointer(name))
        }
        writeUUID5(sha.digest(), to: out)
    }

    /// A version 5 UUID (RFC 9562 §5.5) of `name` in `namespace` (16 bytes), in lower case.
    static func uuid5(namespace: [UInt8], name: [UInt8]) -> String {
        let digest = SHA1.hash(namespace + name)
        return String(unsafeUninitializedCapacity: 36) { buffer in
            writeUUID5(SHA1.Digest(digest), to: UnsafeMutableRawPointer(buffer.baseAddress!))
            return 36
        }
    }

    /// The UUID v5 text (36 bytes) of the first 16 bytes of `digest`, with the version and
    /// variant bits set.
    private static func writeUUID5(_ digest: SHA1.Digest, to out: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(byteCount: 20, alignment: 4) { raw in
            let bytes = raw.baseAddress!
            digest.store(to: bytes)
            let six = bytes.load(fromByteOffset: 6, as: UInt8.self)
            bytes.storeBytes(of: (six & 0x0F) | 0x50, toByteOffset: 6, as: UInt8.self)  // version 5
            let eight = bytes.load(fromByteOffset: 8, as: UInt8.self)
            bytes.storeBytes(of: (eight & 0x3F) | 0x80, toByteOffset: 8, as: UInt8.self)  // RFC 9562 variant
            var position = 0
            for index in 0..<16 {
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    out.storeBytes(of: UInt8(ascii: "-"), toByteOffset: position, as: UInt8.self)
                    position += 1
                }
                let byte = bytes.load(fromByteOffset: index, as: UInt8.self)
                out.storeBytes(of: hexDigit(byte >> 4), toByteOffset: position, as: UInt8.self)
                out.storeBytes(of: hexDigit(byte & 0xF), toByteOffset: position + 1, as: UInt8.self)
                position += 2
            }
        }
    }

    @inline(__always) private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    /// Whether `line` is a track event (its `type` absent or `"track"`) without a top-level
    /// `event_id` (or with `"event_id": null`, which counts as absent, SPEC §5): the lines that
    /// need an id. A line that does not start with `{` is left alone; a malformed one that
    /// does may be stamped, and the relay refuses it either way.
    public static func needsID(_ line: UnsafeRawBufferPointer) -> Bool {
        // Fast path: most lines name neither key anywhere. One pass over the quotes (a search
        // per key would revisit every quote of the line for each).
        // (A key written with escapes, such as "event\u005fid", takes the slow path.)
        if !mentionsIDOrType(line) && !Bytes.contains(line, "\\u") { return isObject(line) }
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
        var out: [UInt8] = []
        var id = id
        id.withUTF8 { appendStamped(line, id: UnsafeRawBufferPointer($0), to: &out) }
        return out
    }

    /// Appends `line` stamped with the id of line `number` whose input through its end has the
    /// digest `digest` (``stamp(_:id:)``, ``make(digest:line:)``) to `out`, allocating nothing
    /// beyond `out`'s growth.
    public static func appendStamped(_ line: UnsafeRawBufferPointer, digest: SHA1.Digest, line number: Int, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(byteCount: 36, alignment: 1) { id in
            write(digest: digest, line: number, to: id.baseAddress!)
            appendStamped(line, id: UnsafeRawBufferPointer(id), to: &out)
        }
    }

    private static func appendStamped(_ line: UnsafeRawBufferPointer, id: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let bytes = line.assumingMemoryBound(to: UInt8.self)
        guard let brace = bytes.lastIndex(of: UInt8(ascii: "}")) else {
            out.append(contentsOf: bytes)
            return
        }
        var before = brace - 1
        while before >= 0, bytes[before] == 0x20 || bytes[before] == 0x09 { before -= 1 }
        let empty = before >= 0 && bytes[before] == UInt8(ascii: "{")
        out.reserveCapacity(out.count + line.count + 52)
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[..<brace]))
        out.append(contentsOf: empty ? #""event_id":""#.utf8 : #","event_id":""#.utf8)
        out.append(contentsOf: id.assumingMemoryBound(to: UInt8.self))
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[brace...]))
    }

    /// Whether `"event_id"` or `"type"` occurs anywhere in `line`. Sixteen bytes at a time:
    /// a quote followed by `e` or `t` is rare enough (`"event"` once per line) that only those
    /// places are compared, where a search from quote to quote stopped at every one of a
    /// line's ~60 quotes (an eighth of the importer's time).
    private static func mentionsIDOrType(_ line: UnsafeRawBufferPointer) -> Bool {
        guard let raw = line.baseAddress else { return false }
        let base = raw.assumingMemoryBound(to: UInt8.self)
        let count = line.count
        let quote = SIMD16<UInt8>(repeating: 0x22)
        let t = SIMD16<UInt8>(repeating: UInt8(ascii: "t"))
        let e = SIMD16<UInt8>(repeating: UInt8(ascii: "e"))
        var index = 0
        while index &+ 17 <= count {
            let here = raw.loadUnaligned(fromByteOffset: index, as: SIMD16<UInt8>.self)
            let after = raw.loadUnaligned(fromByteOffset: index &+ 1, as: SIMD16<UInt8>.self)
            let hits = (here .== quote) .& ((after .== t) .| (after .== e))
            if any(hits) {
                for lane in 0..<16 where hits[lane] {
                    if namesIDOrType(base, at: index &+ lane, count: count) { return true }
                }
            }
            index &+= 16
        }
        while index &+ 1 < count {
            if base[index] == 0x22, base[index &+ 1] == UInt8(ascii: "t") || base[index &+ 1] == UInt8(ascii: "e"),
                namesIDOrType(base, at: index, count: count)
            {
                return true
            }
            index &+= 1
        }
        return false
    }

    /// Whether `"type"` or `"event_id"` starts at `index` (a quote followed by `t` or `e`).
    @inline(__always) private static func namesIDOrType(_ base: UnsafePointer<UInt8>, at index: Int, count: Int) -> Bool {
        let type: StaticString = #""type""#
        let id: StaticString = #""event_id""#
        if base[index &+ 1] == UInt8(ascii: "t") {
            return index &+ type.utf8CodeUnitCount <= count && memcmp(base + index, type.utf8Start, type.utf8CodeUnitCount) == 0
        }
        return index &+ id.utf8CodeUnitCount <= count && memcmp(base + index, id.utf8Start, id.utf8CodeUnitCount) == 0
    }

    private static func isObject(_ line: UnsafeRawBufferPointer) -> Bool {
        for byte in line where byte != 0x20 && byte != 0x09 { return byte == UInt8(ascii: "{") }
        return false
    }
}
