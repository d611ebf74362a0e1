import FoundationEssentials

/// How delivery goes, as `status` and `STATUS=` show it (SPEC §8).
enum UpstreamState: Sendable, Equatable {
    /// Nothing sent yet since start.
    case idle
    case ok
    /// Waiting after failures or a 429, until the given time.
    case backingOff(until: Date, reason: String)
    /// Stopped for a reason no single event caused (401/403/404…); retried every minute and on
    /// SIGHUP.
    case paused(reason: String)

    var name: String {
        switch self {
        case .idle: "idle"
        case .ok: "ok"
        case .backingOff: "backing_off"
        case .paused: "paused"
        }
    }

    /// A one-line summary for `STATUS=` and logs.
    var summary: String {
        switch self {
        case .idle, .ok: name
        case .backingOff(let until, _): "backing off for \(max(0, Int(until.timeIntervalSinceNow.rounded(.up))))s"
        case .paused(let reason): "paused: \(reason)"
        }
    }

    /// The `delivery_state` rows that describe this state.
    var persisted: [(String, DeliveryStateValue)] {
        switch self {
        case .idle, .ok:
            return [("upstream_state", .text(name)), ("upstream_until", .null), ("upstream_reason", .null)]
        case .backingOff(let until, let reason):
            return [
                ("upstream_state", .text(name)), ("upstream_until", .integer(Int64(until.timeIntervalSince1970 * 1000))),
                ("upstream_reason", .text(reason)),
            ]
        case .paused(let reason):
            return [("upstream_state", .text(name)), ("upstream_until", .null), ("upstream_reason", .text(reason))]
        }
    }
}
