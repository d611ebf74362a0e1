@testable import MillimetricRelay

/// Reads a canonical body's top-level members back with the relay's ``JSONTranscoder``.
enum CanonicalObject {
    struct Member {
        var key: String
        var value: [UInt8]
        var kind: JSONTranscoder.ValueKind
    }

    /// The members in order, or nil when `body` is not one JSON object.
    static func members(of body: [UInt8]) -> [Member]? {
        body.withUnsafeBytes { bytes -> [Member]? in
            var parser = JSONTranscoder(bytes: bytes)
            var members: [Member] = []
            do throws(JSONSyntaxError) {
                guard parser.consume(UInt8(ascii: "{")) else { return nil }
                if parser.consume(UInt8(ascii: "}")) { return parser.peek() == nil ? [] : nil }
                while true {
                    guard parser.peek() == UInt8(ascii: "\"") else { return nil }
                    var key: [UInt8] = []
                    _ = try parser.transcodeString(into: &key, captureDecoded: true)
                    let name = String(decoding: parser.decoded, as: UTF8.self)
                    try parser.expect(UInt8(ascii: ":"), "':'")
                    var value: [UInt8] = []
                    let kind = try parser.transcodeValue(into: &value, depth: 1)
                    members.append(Member(key: name, value: value, kind: kind))
                    if parser.consume(UInt8(ascii: ",")) { continue }
                    guard parser.consume(UInt8(ascii: "}")) else { return nil }
                    break
                }
            } catch {
                return nil
            }
            return parser.peek() == nil ? members : nil
        }
    }
}
