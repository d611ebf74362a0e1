/// A valid journal field name, such as `UPSTREAM_REASON`.
///
/// journald drops (with the whole entry on some versions) fields whose names break its rules:
/// only `A`–`Z`, `0`–`9` and `_`, not starting with a digit, at most 64 characters, and not
/// starting with `_`, which marks the trusted fields journald adds itself (`_PID`, `_UID`,
/// `_SYSTEMD_UNIT`); a client must never be able to forge those. ``init(sanitizing:)`` turns any
/// logging key into such a name, so the relay's dotted metadata keys (`upstream.reason`)
/// become fields operators can filter on (`journalctl UPSTREAM_REASON=…`).
public struct JournalFieldName: Sendable, Hashable, CustomStringConvertible {
    /// The longest name journald accepts.
    public static let maximumLength = 64

    public let rawValue: String

    /// Upper-cases ASCII letters, turns every other character that is not a letter, digit or
    /// `_` into `_`, drops leading `_` and digits, and cuts the result to 64 characters.
    /// `nil` when nothing is left (the key had no letter).
    public init?(sanitizing key: String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(key.utf8.count, Self.maximumLength))
        for byte in key.utf8 {
            let mapped: UInt8
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): mapped = byte - 32
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): mapped = byte
            default: mapped = UInt8(ascii: "_")
            }
            if bytes.isEmpty && (mapped == UInt8(ascii: "_") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(mapped)) {
                continue
            }
            // A multi-byte UTF-8 character becomes one `_` per byte; collapse the run so
            // "café" gives CAF_ and not CAF__.
            if mapped == UInt8(ascii: "_"), byte >= 0x80, bytes.last == UInt8(ascii: "_") { continue }
            bytes.append(mapped)
            if bytes.count == Self.maximumLength { break }
        }
        guard !bytes.isEmpty else { return nil }
        rawValue = String(decoding: bytes, as: UTF8.self)
    }

    /// A name that is known to be valid, for the fixed fields (`MESSAGE`, `PRIORITY`, …).
    init(known rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    public static let message = JournalFieldName(known: "MESSAGE")
    public static let messageID = JournalFieldName(known: "MESSAGE_ID")
    public static let priority = JournalFieldName(known: "PRIORITY")
    public static let syslogIdentifier = JournalFieldName(known: "SYSLOG_IDENTIFIER")
    public static let codeFile = JournalFieldName(known: "CODE_FILE")
    public static let codeLine = JournalFieldName(known: "CODE_LINE")
    public static let codeFunction = JournalFieldName(known: "CODE_FUNC")
}
