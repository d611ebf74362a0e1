import CurlSupport
import Foundation
import Testing

/// Talks to `TestHTTPServer` on 127.0.0.1 only. Serialized: several tests measure elapsed
/// time, and every test blocks its thread in libcurl.
@Suite(.serialized)
struct CurlHTTPClientTests {
    static let secretKey = "sk_live_test_0123456789_SECRETabcd"
    static let headers = [
        "Authorization: Bearer \(secretKey)",
        "Content-Type: application/json",
    ]

    /// `proxy: ""` disables proxies from the environment, so no request leaves loopback.
    static func configuration(
        connectTimeout: Duration = .seconds(5),
        totalTimeout: Duration = .seconds(10),
        maxResponseBodyBytes: Int = 64 * 1024
    ) -> CurlHTTPClient.Configuration {
        CurlHTTPClient.Configuration(
            userAgent: "millimetric-relay-tests/1",
            connectTimeout: connectTimeout,
            totalTimeout: totalTimeout,
            proxy: "",
            maxResponseBodyBytes: maxResponseBodyBytes
        )
    }

    @Test func postSendsBodyAndHeadersAndReturnsStatusAndBody() throws {
        let server = try TestHTTPServer { _ in
            .respond(status: 202, headers: ["Content-Type: application/json"], body: Array(#"{"ok":true}"#.utf8))
        }
        defer { server.stop() }
        let client = try CurlHTTPClient(configuration: Self.configuration())
        let body = Array(#"{"events":[{"event":"signup"}]}"#.utf8)

        let response = try client.post(url: server.url + "/v1/batch", headers: Self.headers, body: body)

        #expect(response.status == 202)
        #expect(response.body == Array(#"{"ok":true}"#.utf8))
        #expect(!response.bodyTruncated)
        #expect(response.headers.contentType == "application/json")
        #expect(response.headers.retryAfter == nil)
        let request = try #require(server.requests.first)
        #expect(request.requestLine == "POST /v1/batch HTTP/1.1")
        #expect(request.body == body)
        #expect(request.header("Authorization") == "Bearer \(Self.secretKey)")
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("Content-Length") == "\(body.count)")
        #expect(request.header("User-Agent") == "millimetric-relay-tests/1")
        #expect(request.header("Expect") == nil)
    }

    @Test func twoPostsReuseOneConnection() throws {
        let server = try TestHTTPServer { _ in .respond(status: 202) }
        defer { server.stop() }
        let client = try CurlHTTPClient(configuration: Self.configuration())

        let first = try client.post(url: server.url + "/v1/batch", headers: Self.headers, body: Array("{}".utf8))
        let second = try client.post(url: server.url + "/v1/identify", headers: Self.headers, body: Array("{}".utf8))

        #expect(first.status == 202)
        #expect(second.status == 202)
        #expect(!first.reusedConnection)
        #expect(second.reusedConnection)
        #expect(server.acceptedConnections == 1)
        #expect(server.requests.map(\.requestLine) == ["POST /v1/batch HTTP/1.1", "POST /v1/identify HTTP/1.1"])
    }

    @Test func aConnectionTheServerClosedIsReplacedOnTheNextPost() throws {
        let server = try TestHTTPServer { _ in .respondAndClose(status: 200) }
        defer { server.stop() }
        let client = try CurlHTTPClient(configuration: Self.configuration())

        let first = try client.post(url: server.url + "/v1/batch", headers: Self.headers, body: [])
        let second = try client.post(url: server.url + "/v1/batch", headers: Self.headers, body: [])

        #expect(first.status == 200)
        #expect(second.status == 200)
        #expect(server.acceptedConnections == 2)
    }

    @Test func changedHeadersAreSentOnTheNextPost() throws {
        let server = try TestHTTPServer { _ in .respond(status: 202) }
        defer { server.stop() }
        let client = try CurlHTTPClient(configuration: Self.configuration())

        _ = try client.post(url: server.url + "/v1/batch", headers: ["X-Test: one"], body: [])
        _ = try client.post(url: server.url + "/v1/batch", headers: ["X-Test: one"], body: [])
        _ = try client.post(url: server.url + "/v1/batch", headers: ["X-Test: two"], body: [])

        #expect(server.requests.map { $0.header("X-Test") } == ["one", "one", "two"])
    }

    @Test func retryAfterHeaderIsCapturedWhateverItsCase() throws {
        let server = try TestHTTPServer { _ in
            .respond(status: 429, headers: ["rEtRy-AfTeR:   7  "], body: Array(#"{"error":"rate_limited"}"#.utf8))
        }
        defer { server.stop() }
        let client = try CurlHTTPClient(configuration: Self.configuration())

        let response = try client.post(url: server.url + "/v1/batch", headers: Self.headers, body: Array("{}".utf8))

        #expect(response.status == 429)
        #expect(response.headers.retryAfter == "7")
        #expect(response.body == Array(#"{"error":"rate_limited"}"#.utf8))
    }

    @Test func largeBodyIsSentWholeWithoutExpectContinue() throws {
        let server = try TestHTTPServer { _ in .respond(status: 202) }
        defer { server.stop() }
        let client = try CurlHTTPClient(configuration: Self.configuration())
        let body = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }

        let response = try client.post(url: server.url + "/v1/batch", headers: Self.headers, body: body)

        #expect(response.status == 202)
        let request = try #require(server.requests.first)
        #expect(request.header("Expect") == nil)
        #expect(request.body == body)
    }

    @Test func bodyFromARawBufferIsSent() throws {
        let server = try TestHTTPServer { _ in .respond(status: 202) }
        defer { server.stop() }
        let client = try CurlHTTPClient(configuration: Self.configuration())
        let body = Array("raw buffer body".utf8)

        let response = try body.withUnsafeBytes { bytes in
            try client.post(url: server.url + "/v1/batch", headers: Self.headers, body: bytes)
        }

        #expect(response.status == 202)
        #expect(server.requests.first?.body == body)
    }

    @Test func emptyBodyIsSentWithContentLengthZero() throws {
        let server = try TestHTTPServer { _ in .respond(status: 204) }
        defer { server.stop() }
        let client = try CurlHTTPClient(configuration: Self.configuration())

        let response = try client.post(url: server.url + "/v1/forget", headers: Self.headers, body: [])

        #expect(response.status == 204)
        let request = try #require(server.requests.first)
        #expect(request.requestLine == "POST /v1/forget HTTP/1.1")
        #expect(request.header("Content-Length") == "0")
        #expect(request.body.isEmpty)
    }

    @Test func responseBodyBeyondTheCapIsDropped() throws {
        let server = try TestHTTPServer { _ in .respond(status: 500, body: [UInt8](repeating: 65, count: 5000)) }
        defer { server.stop() }
        let client = try CurlHTTPClient(configuration: Self.configuration(maxResponseBodyBytes: 1024))

        let response = try client.post(url: server.url + "/v1/batch", headers: Self.headers, body: [])

        #expect(response.status == 500)
        #expect(response.body == [UInt8](repeating: 65, count: 1024))
        #expect(response.bodyTruncated)
    }

    @Test func refusedConnectionIsConnectFailed() throws {
        let port = try TestHTTPServer.unusedPort()
        let client = try CurlHTTPClient(configuration: Self.configuration())

        let error = try #require(throws: CurlError.self) {
            try client.post(url: "http://127.0.0.1:\(port)/v1/batch", headers: Self.headers, body: [])
        }

        #expect(error.kind == .connectFailed)
        #expect(error.code == 7)
        #expect(!error.summary.isEmpty)
    }

    @Test func serverThatNeverAnswersHitsTheTotalTimeout() throws {
        let server = try TestHTTPServer { _ in .hang }
        defer { server.stop() }
        let client = try CurlHTTPClient(configuration: Self.configuration(totalTimeout: .milliseconds(400)))
        let start = ContinuousClock.now

        let error = try #require(throws: CurlError.self) {
            try client.post(url: server.url + "/v1/batch", headers: Self.headers, body: Array("{}".utf8))
        }

        let elapsed = ContinuousClock.now - start
        #expect(error.kind == .timedOut)
        #expect(error.code == 28)
        #expect(elapsed >= .milliseconds(350))
        #expect(elapsed < .seconds(5))
        #expect(server.requests.count == 1)
    }

    @Test func tlsHandshakeWithAPlainHTTPServerIsATLSError() throws {
        let server = try TestHTTPServer { _ in .respond(status: 400) }
        defer { server.stop() }
        let client = try CurlHTTPClient(configuration: Self.configuration())

        let error = try #require(throws: CurlError.self) {
            try client.post(url: "https://127.0.0.1:\(server.port)/v1/batch", headers: Self.headers, body: [])
        }

        #expect(error.kind == .tls)
    }

    @Test func unreadableCAFileIsATLSError() throws {
        let server = try TestHTTPServer { _ in .respond(status: 400) }
        defer { server.stop() }
        var configuration = Self.configuration()
        configuration.caFile = "/nonexistent/millimetric-relay-test-ca.pem"
        let client = try CurlHTTPClient(configuration: configuration)

        let error = try #require(throws: CurlError.self) {
            try client.post(url: "https://127.0.0.1:\(server.port)/v1/batch", headers: Self.headers, body: [])
        }

        #expect(error.kind == .tls)
    }

    @Test func abortFromAnotherThreadEndsAHangingTransferQuickly() throws {
        let server = try TestHTTPServer { _ in .hang }
        defer { server.stop() }
        let client = try CurlHTTPClient(configuration: Self.configuration(totalTimeout: .seconds(30)))
        let abortHandle = client.abortHandle
        let aborter = Thread {
            Thread.sleep(forTimeInterval: 0.3)
            abortHandle.abort()
        }
        let start = ContinuousClock.now
        aborter.start()

        let error = try #require(throws: CurlError.self) {
            try client.post(url: server.url + "/v1/batch", headers: Self.headers, body: Array("{}".utf8))
        }

        let elapsed = ContinuousClock.now - start
        #expect(error.kind == .aborted)
        #expect(elapsed >= .milliseconds(250))
        #expect(elapsed < .seconds(3))
    }

    @Test func abortIsStickyAndLaterPostsFailWithoutConnecting() throws {
        let server = try TestHTTPServer { _ in .respond(status: 202) }
        defer { server.stop() }
        let client = try CurlHTTPClient(configuration: Self.configuration())
        client.abortHandle.abort()

        let error = try #require(throws: CurlError.self) {
            try client.post(url: server.url + "/v1/batch", headers: Self.headers, body: [])
        }

        #expect(error.kind == .aborted)
        #expect(client.abortHandle.isAborted)
        #expect(server.acceptedConnections == 0)
    }

    @Test func unsupportedSchemeIsInvalidURL() throws {
        let client = try CurlHTTPClient(configuration: Self.configuration())

        let error = try #require(throws: CurlError.self) {
            try client.post(url: "ftp://127.0.0.1:1/v1/batch", headers: Self.headers, body: [])
        }

        #expect(error.kind == .invalidURL)
    }

    @Test func headerLineWithALineBreakIsRefusedWithoutNamingIt() throws {
        let client = try CurlHTTPClient(configuration: Self.configuration())

        let error = try #require(throws: CurlError.self) {
            try client.post(
                url: "http://127.0.0.1:1/v1/batch",
                headers: ["Authorization: Bearer \(Self.secretKey)\r\nX-Injected: 1"],
                body: []
            )
        }

        #expect(error.kind == .other)
        #expect(!String(describing: error).contains(Self.secretKey))
    }

    @Test func authorizationHeaderAppearsInNoError() throws {
        let hanging = try TestHTTPServer { _ in .hang }
        defer { hanging.stop() }
        let refusedPort = try TestHTTPServer.unusedPort()
        var errors: [CurlError] = []
        let attempts: [(CurlHTTPClient.Configuration, String)] = [
            (Self.configuration(), "http://127.0.0.1:\(refusedPort)/v1/batch"),
            (Self.configuration(totalTimeout: .milliseconds(200)), hanging.url + "/v1/batch"),
            (Self.configuration(), "ftp://127.0.0.1:\(refusedPort)/v1/batch"),
            (Self.configuration(), "http://[::1/v1/batch"),
        ]
        for (configuration, url) in attempts {
            let client = try CurlHTTPClient(configuration: configuration)
            do {
                _ = try client.post(url: url, headers: Self.headers, body: Array(Self.secretKey.utf8))
                Issue.record("expected \(url) to fail")
            } catch {
                errors.append(error)
            }
        }
        let aborted = try CurlHTTPClient(configuration: Self.configuration())
        aborted.abortHandle.abort()
        do {
            _ = try aborted.post(url: hanging.url, headers: Self.headers, body: [])
        } catch {
            errors.append(error)
        }

        #expect(errors.count == 5)
        for error in errors {
            for text in [String(describing: error), String(reflecting: error), error.summary, error.detail] {
                #expect(!text.contains(Self.secretKey))
                #expect(!text.contains("Bearer"))
            }
        }
    }

    @Test func closeFreesTheHandleAndCanBeRepeated() throws {
        let server = try TestHTTPServer { _ in .respond(status: 202) }
        defer { server.stop() }
        let client = try CurlHTTPClient(configuration: Self.configuration())
        _ = try client.post(url: server.url + "/v1/batch", headers: Self.headers, body: [])

        client.close()
        client.close()

        #expect(server.requests.count == 1)
    }
}
