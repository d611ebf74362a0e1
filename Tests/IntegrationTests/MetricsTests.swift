import Foundation
import RelayTestKit
import Testing

@testable import MillimetricRelay

/// The metrics endpoint of the real daemon, read as Prometheus reads it (issue 17): every family
/// with `# HELP` and `# TYPE` (what `promtool check metrics` demands; CI runs promtool itself in
/// .ci/prometheus-checks.sh), the process metrics, and the series the alert rules use.
@Suite struct MetricsTests {
    /// A relay with `metrics_listen` on a free loopback port, and a way to read one sample.
    struct Endpoint {
        let port: Int

        func scrape() throws -> String { try RelayProcess.httpGet("http://127.0.0.1:\(port)/metrics") }

        /// The value of the sample written exactly as `series` (name and labels as served).
        func value(_ series: String) throws -> Double? {
            try scrape().split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
        }
    }

    static func relay(api: StandInProcess, environment: [String: String] = [:]) throws -> (RelayProcess, Endpoint) {
        let relay = try RelayProcess(host: api.baseURL, environment: ["MILLIMETRIC_RELAY_METRICS_LISTEN": "127.0.0.1:0"].merging(environment) { $1 })
        return (relay, Endpoint(port: try relay.metricsPort()))
    }

    @Test func everyFamilyIsServedWithHelpAndTypeAndTheProcessMetricsAreThere() throws {
        let api = try StandInProcess()
        let (relay, endpoint) = try Self.relay(api: api, environment: ["MILLIMETRIC_RELAY_MAX_OUTBOX_BYTES": "5000000", "MILLIMETRIC_RELAY_HTTP_LISTEN": "127.0.0.1:0"])
        defer { relay.terminate() }
        _ = try relay.send(DeliveryTests.events("metrics", 20) + [#"{"type":"forget","user_id":"u3"}"#, "not json"])
        #expect(try relay.curl("GET", "/healthz").status == 200)
        #expect(try relay.curl("POST", "/v1/track", ["-d", #"{"event":"over_http"}"#]).status == 202)
        #expect(try relay.curl("GET", "/wp-login.php").status == 404)
        #expect(try RelayProcess.eventually { try endpoint.value("millimetric_relay_queue_events") == 0 })

        let text = try endpoint.scrape()
        let lines = text.split(separator: "\n")
        for family in MetricFamily.catalog {
            #expect(lines.contains { $0 == "# HELP \(family.name) \(family.help)" }, "no HELP for \(family.name)")
            #expect(lines.contains { $0 == "# TYPE \(family.name) \(family.kind.rawValue)" }, "no TYPE for \(family.name)")
        }
        // Nothing is served that has no HELP (a histogram's samples belong to its family).
        let documented = Set(lines.filter { $0.hasPrefix("# HELP ") }.map { String($0.split(separator: " ")[2]) })
        for sample in lines where !sample.hasPrefix("#") {
            let name = String(sample.prefix { $0 != "{" && $0 != " " })
            let family = ["_bucket", "_sum", "_count"].first { name.hasSuffix($0) && documented.contains(String(name.dropLast($0.count))) }
                .map { String(name.dropLast($0.count)) } ?? name
            #expect(documented.contains(family), "\(name) is served without HELP")
        }

        #expect(try endpoint.value(#"millimetric_relay_build_info{version="\#(RelayVersion.current)"}"#) == 1)
        #expect(try endpoint.value(#"millimetric_relay_upstream_state{state="ok",reason="none"}"#) == 1)
        #expect(try endpoint.value(#"millimetric_relay_upstream_state{state="paused",reason="unauthorized"}"#) == 0)
        #expect(try endpoint.value("millimetric_relay_outbox_max_bytes") == 5_000_000)
        #expect(try endpoint.value("millimetric_relay_forgets_total") == 1)
        #expect(try endpoint.value(#"millimetric_relay_http_requests_total{path="/healthz",status="200"}"#) == 1)
        #expect(try endpoint.value(#"millimetric_relay_http_requests_total{path="/v1/track",status="202"}"#) == 1)
        #expect(try endpoint.value(#"millimetric_relay_http_requests_total{path="other",status="404"}"#) == 1)
        #expect(try endpoint.value("millimetric_relay_dead_letters") == 0)
        let start = try #require(try endpoint.value("process_start_time_seconds"))
        #expect(abs(start - Date().timeIntervalSince1970) < 300)
        #expect(try #require(try endpoint.value("process_resident_memory_bytes")) > 1_000_000)
        #expect(try #require(try endpoint.value("process_open_fds")) >= 5)
        #expect(try #require(try endpoint.value("process_cpu_seconds_total")) > 0)
    }

    /// What the paused and dead-letter alerts read: a 401 labels the pause `unauthorized`; an event
    /// the API refuses for good shows among the dead letters held.
    @Test func aRejectedKeyShowsAsPausedUnauthorizedAndRefusedEventsAsDeadLetters() throws {
        let api = try StandInProcess(arguments: ["--keys", "sk_live_another_key_0000"])
        let (relay, endpoint) = try Self.relay(api: api)
        defer { relay.terminate() }
        _ = try relay.send(DeliveryTests.events("paused", 3))
        #expect(try RelayProcess.eventually {
            try endpoint.value(#"millimetric_relay_upstream_state{state="paused",reason="unauthorized"}"#) == 1
        })
        #expect(try endpoint.value(#"millimetric_relay_upstream_state{state="ok",reason="none"}"#) == 0)
        #expect(try endpoint.value("millimetric_relay_queue_events") == 3)
        #expect(try #require(try endpoint.value(#"millimetric_relay_upstream_requests_total{path="/v1/batch",status="401"}"#)) >= 1)

        let open = try StandInProcess()
        _ = try open.setFaults(["reject_event_marker": "poison"])
        let (second, secondEndpoint) = try Self.relay(api: open)
        defer { second.terminate() }
        _ = try second.send([#"{"event":"poison","event_id":"dead-1"}"#, #"{"event":"fine","event_id":"fine-1"}"#])
        #expect(try RelayProcess.eventually { try secondEndpoint.value("millimetric_relay_dead_letters") == 1 })
        #expect(try secondEndpoint.value("millimetric_relay_events_dead_lettered_total") == 1)
        // The fine event goes again in a request of its own, at the relay's next send slot.
        #expect(try RelayProcess.eventually { try secondEndpoint.value("millimetric_relay_events_delivered_total") == 1 })
    }
}
