/// The Millimetric server key, which redacts itself everywhere it could leak.
///
/// `description`, string interpolation and `dump` show at most the key's prefix and its last
/// four characters (`sk_live_…abcd`), so a log line, a status output or an error message cannot
/// carry the secret by accident. Only ``authorizationHeader`` exposes the whole value.
public struct APIKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let secret: String

    /// Where the key came from, for messages ("--key-file /etc/…", "MILLIMETRIC_KEY").
    public let source: String

    /// Validates a key: a server key (`sk_…`) with at least four `_`-separated parts.
    public init(_ raw: String, source: String) throws(ConfigurationError) {
        let value = raw.trimmingWhitespace()
        let redacted = Self.redact(value)
        let parts = value.split(separator: "_", omittingEmptySubsequences: false)
        let wellFormed = parts.count >= 4 && parts.allSatisfy { !$0.isEmpty }
            && ["pk", "sk", "rk"].contains(parts.first.map(String.init) ?? "")
            && value.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
        guard wellFormed else {
            throw ConfigurationError("the API key from \(source) (\(redacted)) is malformed: a Millimetric key looks like sk_live_XXXX_YYYY, four or more parts separated by '_'")
        }
        switch parts[0] {
        case "pk":
            throw ConfigurationError("the API key from \(source) (\(redacted)) is a publishable key: pk_ keys belong in the browser snippet only; the relay needs a server key (sk_…)")
        case "rk":
            throw ConfigurationError("the API key from \(source) (\(redacted)) is a read-only key: rk_ keys cannot send events; the relay needs a server key (sk_…)")
        default:
            break
        }
        self.secret = value
        self.source = source
    }

    /// `Bearer <key>`, for the one place that needs the secret.
    public var authorizationHeader: String { "Authorization: Bearer \(secret)" }

    public var description: String { Self.redact(secret) }
    public var debugDescription: String { Self.redact(secret) }
    public var customMirror: Mirror { Mirror(self, children: ["redacted": Self.redact(secret)]) }

    /// The first two parts and the last four characters: `sk_live_…abcd`.
    static func redact(_ value: String) -> String {
        let parts = value.split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false)
        let prefix = parts.count >= 3 ? "\(parts[0])_\(parts[1])_" : String(value.prefix(3))
        // Show the tail only when enough of the key stays hidden.
        guard value.count >= prefix.count + 12 else { return "\(prefix)…" }
        return "\(prefix)…\(value.suffix(4))"
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
