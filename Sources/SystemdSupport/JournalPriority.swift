/// The syslog severity of a journal entry, its `PRIORITY=` field (0 = emerg … 7 = debug).
///
/// journald filters on it (`journalctl -p err` shows 0–3), and forwards it to syslog and the
/// console. A line written to the journal through stderr is always priority 6 (info) unless
/// it starts with a `<N>` prefix, which is why the relay logs natively instead.
public enum JournalPriority: Int32, Sendable, Hashable, CaseIterable {
    case emergency = 0
    case alert = 1
    case critical = 2
    case error = 3
    case warning = 4
    case notice = 5
    case info = 6
    case debug = 7
}
