/// A 128-bit id for one kind of journal entry, its `MESSAGE_ID=` field.
///
/// systemd's catalog gives each event it wants operators to find a fixed random id (written as
/// 32 lower-case hex digits, as `journalctl --new-id128` prints one), so that
/// `journalctl MESSAGE_ID=…` finds every occurrence whatever the message's wording or language
/// becomes. The relay does the same for the few events an operator looks for.
public struct JournalMessageID: Sendable, Hashable, CustomStringConvertible {
    /// The id as journald stores it: 32 lower-case hex digits, no dashes.
    public let hexDigits: String

    /// `nil` unless `hexDigits` is exactly 32 hex digits (either case; stored lower-case).
    public init?(_ hexDigits: String) {
        let lowered = hexDigits.lowercased()
        guard lowered.utf8.count == 32,
              lowered.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) })
        else { return nil }
        self.hexDigits = lowered
    }

    public var description: String { hexDigits }
}
