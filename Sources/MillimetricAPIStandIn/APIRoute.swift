/// The Millimetric API endpoints the stand-in serves.
enum APIRoute: String, Sendable, CaseIterable {
    case track = "/v1/track"
    case batch = "/v1/batch"
    case identify = "/v1/identify"
    case forget = "/v1/forget"

    /// Which token bucket a request draws from: the API limits `/v1/batch` on its own and the
    /// other three together ("track-class").
    var usesBatchBucket: Bool {
        self == .batch
    }
}
