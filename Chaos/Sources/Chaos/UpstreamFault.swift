import Foundation

/// One state of the flapping upstream, applied through the stand-in's `POST /_admin/faults`.
enum UpstreamFault: String, CaseIterable, Sendable {
    case healthy
    /// Every request gets 503.
    case down
    /// Every request has its connection closed without an answer.
    case dropConnections = "drop"
    /// The next few requests get 429 with `Retry-After: 1`.
    case tooManyRequests = "429"
    /// The next few requests get a 500, 502 or 503.
    case serverError = "5xx"
    /// Answers come late (200–1500 ms); the request still takes effect on arrival.
    case slow

    /// How often each state is picked, out of the sum.
    var weight: Int {
        switch self {
        case .healthy: 3
        case .down, .dropConnections, .tooManyRequests, .slow: 2
        case .serverError: 1
        }
    }

    /// The full fault settings for this state: every switch is set, so the previous state's
    /// switches never linger.
    func settings(using generator: inout some RandomNumberGenerator) -> [String: Any] {
        var faults: [String: Any] = [
            "down": false, "drop_connections": false, "latency_ms": 0, "force_status": NSNull(), "force_count": NSNull(),
            "retry_after": NSNull(),
        ]
        switch self {
        case .healthy:
            break
        case .down:
            faults["down"] = true
        case .dropConnections:
            faults["drop_connections"] = true
        case .tooManyRequests:
            faults["force_status"] = 429
            faults["force_count"] = Int.random(in: 1...6, using: &generator)
            faults["retry_after"] = 1
        case .serverError:
            faults["force_status"] = [500, 502, 503].randomElement(using: &generator)!
            faults["force_count"] = Int.random(in: 1...4, using: &generator)
        case .slow:
            faults["latency_ms"] = Int.random(in: 200...1_500, using: &generator)
        }
        return faults
    }

    static func pick(using generator: inout some RandomNumberGenerator) -> UpstreamFault {
        var roll = Int.random(in: 0..<allCases.reduce(0) { $0 + $1.weight }, using: &generator)
        for fault in allCases {
            if roll < fault.weight { return fault }
            roll -= fault.weight
        }
        return .healthy
    }
}
