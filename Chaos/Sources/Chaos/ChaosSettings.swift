/// What one chaos run does; see `chaos --help`.
struct ChaosSettings: Sendable {
    var duration: Duration
    var producers: Int
    var ratePerProducer: Double
    var killGap: ClosedRange<Double>
    var faultHold: ClosedRange<Double>
    var seed: UInt64
    var drainTimeout: Duration
    var relayExecutable: String
    var standInExecutable: String
    var workDirectory: String
}
