/// The API's request limits, which the relay enforces the same way (SPEC §4b, §6): a request
/// the API would refuse is refused here before anything is stored.
enum HTTPIngestLimits {
    /// The largest request body the API accepts: 256 KB.
    static let maximumBodyBytes = 262_144
    /// The most events one `/v1/batch` may carry.
    static let maximumBatchEvents = 500
}
