/// What a line asks the relay to deliver; stored in the outbox as its raw value.
public enum EventKind: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// An analytics event, delivered in batches to `/v1/batch`.
    case track = 0
    /// Links an `anonymous_id` to a `user_id`, delivered to `/v1/identify`.
    case identify = 1
    /// A GDPR erasure of one `user_id`, delivered to `/v1/forget`.
    case forget = 2

    public var description: String {
        switch self {
        case .track: "track"
        case .identify: "identify"
        case .forget: "forget"
        }
    }
}
