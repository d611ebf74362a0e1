import Foundation
import RelayTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What the HTTP listener answers once a stop has begun (SPEC §4b, §8). The test hook
/// MILLIMETRIC_RELAY_TEST_HOLD_HTTP_STOP keeps the listener open for a few seconds after it
/// stopped accepting, so that requests can be sent into the drain deterministically.
extension HTTPIngestTests {
    static let holdStop = ["MILLIMETRIC_RELAY_TEST_HOLD_HTTP_STOP": "4"]

    /// Sends SIGTERM and waits until the relay holds its HTTP listener open, draining.
    static func beginStop(_ relay: RelayProcess) throws {
        _ = try relay.httpPort()  // read while the log line is the latest generation's
        relay.signal(SIGTERM)
        guard RelayProcess.eventually(timeout: .seconds(10), { relay.allOutput.contains("holding the HTTP listener open while stopping") }) else {
            throw RelayFailure("the relay did not reach the held stop:\n\(relay.allOutput.suffix(2000))")
        }
    }

    /// Waits for the stop begun by ``beginStop(_:)`` to finish; its exit status.
    static func finishStop(_ relay: RelayProcess) -> Int32 {
        _ = RelayProcess.eventually(timeout: .seconds(20)) { !relay.isRunning }
        return relay.terminate()
    }

    @Test func aRequestArrivingDuringTheStopIsRefusedShuttingDownAndNotStored() throws {
        let relay = try RelayProcess.withHTTP(host: "http://127.0.0.1:9", environment: Self.holdStop)
        defer { relay.terminate() }
        #expect(try relay.curl("POST", "/v1/track", ["--data-binary", #"{"event":"early","event_id":"early-1"}"#]).status == 202)
        try Self.beginStop(relay)
        let late = try relay.curl("POST", "/v1/track", ["--data-binary", #"{"event":"late","event_id":"late-1"}"#])
        Self.expectRefusal(late, 503, "shutting_down")
        let lateBatch = try relay.curl("POST", "/v1/batch", ["--data-binary", #"{"events":[{"event":"late","event_id":"late-2"}]}"#])
        Self.expectRefusal(lateBatch, 503, "shutting_down")
        #expect(Self.finishStop(relay) == 0, "\(relay.allOutput.suffix(2000))")
        #expect(try relay.queuedEventIDs() == ["early-1": 1])
    }

    @Test func healthzAnswers503OnceIngestStopsAccepting() throws {
        let relay = try RelayProcess.withHTTP(host: "http://127.0.0.1:9", environment: Self.holdStop)
        defer { relay.terminate() }
        #expect(try relay.curl("GET", "/healthz", key: nil).status == 200)
        try Self.beginStop(relay)
        // The outbox is still open (it closes last): only "not accepting" makes this 503.
        Self.expectRefusal(try relay.curl("GET", "/healthz", key: nil), 503, "shutting_down")
        #expect(Self.finishStop(relay) == 0, "\(relay.allOutput.suffix(2000))")
    }
}
