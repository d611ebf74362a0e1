/// One `NAME=value` field of a journal entry.
///
/// The value may hold any bytes, newlines included: the native protocol carries them
/// length-prefixed, so a multi-line message stays one entry (unlike a line on stderr).
public struct JournalField: Sendable, Hashable {
    public let name: JournalFieldName
    public let value: String

    public init(_ name: JournalFieldName, _ value: String) {
        self.name = name
        self.value = value
    }
}
