/// One of the API's rate limits: a sustained rate and a burst.
///
/// The defaults are the API's documented limits (batch 5/s burst 20; track-class 50/s burst 200).
struct RateLimit: Sendable, Equatable {
    var perSecond: Double
    var burst: Int

    static let batchDefault = RateLimit(perSecond: 5, burst: 20)
    static let trackDefault = RateLimit(perSecond: 50, burst: 200)
}
