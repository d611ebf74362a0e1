import NIOHTTP1

/// The paths the HTTP listener serves: the API's four ingest endpoints and a health probe.
enum HTTPRoute: String, Sendable, CaseIterable {
    case track = "/v1/track"
    case identify = "/v1/identify"
    case batch = "/v1/batch"
    case forget = "/v1/forget"
    case healthz = "/healthz"

    /// The route of a request target, ignoring any query string; nil for an unknown path.
    init?(target: String) {
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? target
        self.init(rawValue: path)
    }

    var method: HTTPMethod { self == .healthz ? .GET : .POST }

    /// The event kind an ingest endpoint stores; nil for batch (track events) and the probe.
    var eventKind: EventKind? {
        switch self {
        case .track: .track
        case .identify: .identify
        case .forget: .forget
        case .batch, .healthz: nil
        }
    }

    /// The `path` label of the request counter: the route, or `other` for any unknown path,
    /// so that a scanner cannot create a time series per URL it tries.
    static func metricLabel(_ route: HTTPRoute?) -> String { route?.rawValue ?? "other" }
}
