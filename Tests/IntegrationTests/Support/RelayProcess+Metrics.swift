import Foundation
import RelayTestKit

extension RelayProcess {
    /// The setting that turns the metrics listener on, on a port the kernel picks (no
    /// bind-close-reuse race between tests running in parallel); ``metricsPort()`` reads it back.
    static let metricsOnAnyPort = ["MILLIMETRIC_RELAY_METRICS_LISTEN": "127.0.0.1:0"]

    /// The port the running daemon's metrics listener bound, from its `metrics.port=` log line.
    func metricsPort(timeout: Duration = .seconds(20)) throws -> Int {
        var port: Int?
        _ = Self.eventually(timeout: timeout) {
            let log = output(ofGeneration: generation)
            guard let range = log.range(of: #"metrics\.port=[0-9]+"#, options: .regularExpression) else { return false }
            port = Int(log[range].dropFirst("metrics.port=".count))
            return port != nil
        }
        guard let port else { throw RelayFailure("no metrics.port= line in the relay's log:\n\(output(ofGeneration: generation))") }
        return port
    }

    /// One sample from `GET /metrics` (`name` with its labels, as in the exposition), or nil when
    /// the metric is not there yet.
    func metric(_ name: String) throws -> Double? {
        let text = try Self.httpGet("http://127.0.0.1:\(try metricsPort())/metrics")
        return text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }

    /// A plain GET with curl; throws unless it answers 2xx.
    static func httpGet(_ url: String) throws -> String {
        let (code, output) = try runCLIProcess("/usr/bin/curl", ["-sf", "--max-time", "5", url])
        guard code == 0 else { throw RelayFailure("GET \(url) failed (curl exit \(code))") }
        return output
    }
}
