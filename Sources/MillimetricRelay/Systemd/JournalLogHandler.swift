import Logging
import SystemdSupport

#if canImport(Glibc)
import Glibc
#endif

/// A swift-log handler that writes to the systemd journal through its native protocol.
///
/// Under systemd the relay's stderr is the journal, but a line on stderr becomes an entry at
/// priority 6 (info) whatever its level, and carries the text format's own timestamp beside
/// the journal's. Logging natively instead gives every entry:
///
/// - `PRIORITY=` from the level, so `journalctl -p err` shows errors and `-p warning` warnings;
/// - `MESSAGE=` with the message and its metadata as `key=value` (no timestamp, no level: the
///   journal shows both itself);
/// - each metadata key as its own field, upper-cased with `.` → `_` (`upstream.reason` →
///   `UPSTREAM_REASON=`, `event.id` → `EVENT_ID=`), so `journalctl UPSTREAM_REASON=…` works;
/// - `MESSAGE_ID=` for the events in ``RelayMessageID`` (their `message_id` metadata);
/// - `SYSLOG_IDENTIFIER=millimetric-relay` and `CODE_FILE=`/`CODE_LINE=`/`CODE_FUNC=`.
///
/// It is used only when stderr really is the journal (``JournalStream``); in a terminal or a
/// file the relay keeps swift-log's text format. If the journal refuses an entry, the handler
/// writes the text line to stderr instead, so nothing is lost silently.
public struct JournalLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    private let identifier: String
    private let journal: Journal

    /// `identifier` becomes `SYSLOG_IDENTIFIER=` (what `journalctl -t` filters on).
    public init(identifier: String, journal: Journal = Journal()) {
        self.identifier = identifier
        self.journal = journal
    }

    /// Whether stderr is the journal stream systemd announced (`JOURNAL_STREAM`, systemd.exec(5)):
    /// the test for choosing this handler over the text format.
    public static func standardErrorIsJournal(environment: [String: String]) -> Bool {
        JournalStream.isStandardErrorJournal(environment: environment)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let own = event.metadata { merged.merge(own) { $1 } }
        let fields = Self.fields(
            level: event.level, message: event.message.description, metadata: merged, identifier: identifier,
            file: event.file, function: event.function, line: event.line)
        do {
            try journal.send(fields)
        } catch {
            let text = fields.first { $0.name == .message }?.value ?? event.message.description
            let line = Array("\(event.level) \(identifier): \(text) (journal: \(error))\n".utf8)
            // One write(2) per line, as StreamLogHandler does, so lines from threads never interleave.
            _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        }
    }

    /// The journal's priority for a swift-log level (`trace` has none of its own: debug).
    public static func priority(for level: Logger.Level) -> JournalPriority {
        switch level {
        case .trace, .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        case .critical: .critical
        }
    }

    /// The fields of one entry; pure, so the mapping is tested without a journal.
    ///
    /// Metadata whose name would collide with a field the handler sets itself (`MESSAGE`,
    /// `PRIORITY`, `SYSLOG_IDENTIFIER`, `CODE_*`) is kept under a `RELAY_` prefix; a key with no
    /// letter at all is only in `MESSAGE=`. A `message_id` that is not a valid 128-bit id is
    /// kept as `RELAY_MESSAGE_ID=` rather than sent as a `MESSAGE_ID=` journald would misfile.
    public static func fields(
        level: Logger.Level, message: String, metadata: Logger.Metadata, identifier: String,
        file: String, function: String, line: UInt
    ) -> [JournalField] {
        var text = message
        var fields: [JournalField] = [
            JournalField(.priority, String(priority(for: level).rawValue)),
            JournalField(.syslogIdentifier, identifier),
        ]
        let ownNames: Set<JournalFieldName> = [.message, .messageID, .priority, .syslogIdentifier, .codeFile, .codeLine, .codeFunction]
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            let rendered = "\(value)"
            if key == RelayMessageID.metadataKey, JournalMessageID(rendered) != nil {
                fields.append(JournalField(.messageID, rendered))
                continue
            }
            text += " \(key)=\(rendered)"
            guard var name = JournalFieldName(sanitizing: key) else { continue }
            if ownNames.contains(name), let prefixed = JournalFieldName(sanitizing: "RELAY_" + name.rawValue) {
                name = prefixed
            }
            fields.append(JournalField(name, rendered))
        }
        fields.insert(JournalField(.message, text), at: 0)
        fields.append(JournalField(.codeFile, file))
        fields.append(JournalField(.codeLine, String(line)))
        fields.append(JournalField(.codeFunction, function))
        return fields
    }
}
