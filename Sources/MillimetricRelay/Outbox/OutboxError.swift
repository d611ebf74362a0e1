import SQLiteSupport

/// Why the outbox could not be opened or written.
public enum OutboxError: Error, Sendable, CustomStringConvertible {
    /// The file is damaged or belongs to another program: refused, never overwritten.
    case corruptOrForeign(path: String, detail: String)
    /// A newer relay wrote this file.
    case newerSchema(path: String, found: Int64, supported: Int64)
    /// Any other SQLite failure.
    case sqlite(SQLiteError)
    /// The outbox is closed (the daemon is stopping).
    case closed

    public var description: String {
        switch self {
        case .corruptOrForeign(let path, let detail):
            "\(path) is not a usable millimetric-relay outbox: \(detail). It was left untouched; move it aside (or point state_dir elsewhere) to start with an empty outbox."
        case .newerSchema(let path, let found, let supported):
            "\(path) has outbox schema version \(found), but this millimetric-relay supports up to \(supported); upgrade the relay."
        case .sqlite(let error):
            error.description
        case .closed:
            "the outbox is closed"
        }
    }

    /// Whether this is a configuration-class problem (exit 78) rather than a transient one.
    public var isConfigurationProblem: Bool {
        switch self {
        case .corruptOrForeign, .newerSchema: true
        case .sqlite(let error): error.isCannotOpen || error.isReadOnly
        case .closed: false
        }
    }
}
