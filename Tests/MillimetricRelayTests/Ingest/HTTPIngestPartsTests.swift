import NIOHTTP1
import Testing

@testable import MillimetricRelay

/// The small parts of the HTTP listener that need no socket: its address, its key check and
/// the batch body's split.
@Suite struct HTTPIngestPartsTests {
    @Test func listenAddressesAreTCPOrUnix() throws {
        #expect(HTTPListenAddress("127.0.0.1:8787") == .tcp(host: "127.0.0.1", port: 8787))
        #expect(HTTPListenAddress("[::1]:8787") == .tcp(host: "::1", port: 8787))
        #expect(HTTPListenAddress("unix:/run/millimetric-relay/http.sock") == .unix(path: "/run/millimetric-relay/http.sock"))
        #expect(HTTPListenAddress("unix:relative.sock") == nil)
        #expect(HTTPListenAddress("8787") == nil)
        #expect(HTTPListenAddress("127.0.0.1:99999") == nil)
        var configuration = RelayConfiguration(environment: [:])
        #expect(configuration.httpListen == nil)
        try configuration.set(.httpListen, "127.0.0.1:8787", source: "test")
        #expect(configuration.httpListen == .tcp(host: "127.0.0.1", port: 8787))
        try configuration.set(.httpListen, "off", source: "test")
        #expect(configuration.httpListen == nil)
        #expect(throws: ConfigurationError.self) { try configuration.set(.httpListen, "nonsense", source: "test") }
    }

    @Test func theKeyIsJudgedInTheAPIsOrder() throws {
        let authenticator = HTTPBearerAuthenticator(key: try APIKey("sk_live_relay_key_0001", source: "test"))
        func check(_ header: String?, _ route: HTTPRoute = .track) -> String? {
            var headers = HTTPHeaders()
            if let header { headers.add(name: "Authorization", value: header) }
            return authenticator.check(headers, route: route)?.code
        }
        #expect(check("Bearer sk_live_relay_key_0001") == nil)
        #expect(check("bearer  sk_live_relay_key_0001") == nil)
        #expect(check(nil) == "malformed_api_key")
        #expect(check("Basic abc") == "malformed_api_key")
        #expect(check("Bearer sk_live") == "malformed_api_key")
        #expect(check("Bearer sk_live_relay_key_0002") == "invalid_api_key")
        #expect(check("Bearer sk_live_relay_key_00011") == "invalid_api_key")
        #expect(check("Bearer pk_live_relay_key_0001") == "origin_not_allowed")
        #expect(check("Bearer pk_live_relay_key_0001", .forget) == "forget_requires_secret_key")
        authenticator.replace(key: try APIKey("sk_live_relay_key_0002", source: "reload"))
        #expect(check("Bearer sk_live_relay_key_0002") == nil)
        #expect(check("Bearer sk_live_relay_key_0001") == "invalid_api_key")
    }

    /// The members as the text they are in the body.
    static func split(_ body: String) -> Result<[String], HTTPAPIError> {
        let bytes = Array(body.utf8)
        var scratch: [UInt8] = []
        return bytes.withUnsafeBytes { HTTPBatchBody.events(in: $0, scratch: &scratch) }
            .map { ranges in ranges.map { String(decoding: bytes[$0], as: UTF8.self) } }
    }

    @Test func aBatchBodySplitsIntoItsEventsInPlace() throws {
        let events = try Self.split(#" { "sent_at": 1, "events" : [ {"event": "a"} , {"event":"b","properties":{"n": 1.0}} ] } "#).get()
        #expect(events == [#"{"event": "a"}"#, #"{"event":"b","properties":{"n": 1.0}}"#])
        for bad in ["", "[]", #"{"events":{}}"#, #"{"events":[]}"#, #"{"other":[]}"#, #"{"events":[{"event":"a"}"#, #"{"events":[1]} x"#] {
            guard case .failure(let error) = Self.split(bad) else {
                Issue.record("accepted \(bad)")
                continue
            }
            #expect(error.code == "invalid_payload", "\(bad)")
        }
        let many = #"{"events":[\#(Array(repeating: "{}", count: 501).joined(separator: ","))]}"#
        guard case .failure(let error) = Self.split(many) else { Issue.record("501 events accepted"); return }
        #expect(error.status == .payloadTooLarge)
    }
}
