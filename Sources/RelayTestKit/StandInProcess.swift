import Foundation

/// A running `millimetric-api-standin` (the local Millimetric API) on 127.0.0.1, on a free
/// port, and its admin endpoints.
///
/// It is started with `--port 0` (the port is read from its first stdout line) and
/// `--exit-with-stdin` with a pipe this process holds, so that it also ends when the test,
/// benchmark or chaos run dies without a chance to stop it.
public final class StandInProcess: @unchecked Sendable {
    // @unchecked Sendable: every stored property is set in init and never changes.

    /// A well-formed secret (`sk_`) key, accepted unless `--keys` was given without it.
    public static let secretKey = "sk_test_standin_0001"

    public let child: ChildProcess
    /// The port it listens on, on 127.0.0.1.
    public let port: Int
    /// The base URL, for the relay's `--host` / `MILLIMETRIC_HOST`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    private let ownDirectory: TemporaryDirectory?

    /// Starts the stand-in with `--port 0 --log-level warning` plus `arguments` (for example
    /// `["--down"]`, `["--no-rate-limits"]`, `["--keys", "sk_a_b_c"]`; a repeated option
    /// overrides) and waits until it listens. Its stdout and stderr go to `NAME.out` and
    /// `NAME.log` in `directory`; without one, stderr goes to this process's stderr.
    public init(
        executable: String, directory: TemporaryDirectory? = nil, name: String = "standin", arguments: [String] = [],
        startupTimeout: Duration = .seconds(20)
    ) throws(TestKitError) {
        let files: TemporaryDirectory
        if let directory { files = directory } else { files = try TemporaryDirectory(prefix: "mmr-standin") }
        ownDirectory = directory == nil ? files : nil
        let child = try ChildProcess(
            name: name, executable: executable,
            arguments: ["--port", "0", "--host", "127.0.0.1", "--exit-with-stdin", "--log-level", "warning"]
                + arguments,
            environment: ["PATH": "/usr/bin:/bin"], stdout: .file(files.file("\(name).out")),
            stderr: directory == nil ? .inherit : .file(files.file("\(name).log")), keepStdinOpen: true)
        let deadline = ContinuousClock.now + startupTimeout
        var port: Int?
        while port == nil && ContinuousClock.now < deadline {
            if let line = child.stdoutText.split(separator: "\n").first, line.hasPrefix("listening on "),
                let colon = line.lastIndex(of: ":")
            {
                port = Int(line[line.index(after: colon)...])
            } else if !child.isRunning {
                break
            } else {
                usleep(5_000)
            }
        }
        guard let port else {
            let status = child.stop()
            ownDirectory?.removeAll()
            throw TestKitError(
                "the stand-in did not report its port within \(startupTimeout) (exit \(status)):\n\(child.stderrTail())")
        }
        self.child = child
        self.port = port
    }

    deinit {
        stop()
    }

    /// Stops the stand-in with SIGTERM (SIGKILL after 10 s) and returns its exit status; 0
    /// means it shut down cleanly. Calling it again returns the same status.
    @discardableResult
    public func stop() -> Int32 {
        let status = child.stop(timeout: .seconds(10))
        ownDirectory?.removeAll()
        return status
    }

    // MARK: - Requests

    /// Sends one request on a new connection and reads the answer.
    public func request(
        _ method: String, _ path: String, headers: [String: String] = [:], body: Data? = nil,
        timeout: Duration = .seconds(15)
    ) throws(TestKitError) -> LoopbackHTTPResponse {
        try LoopbackHTTP.request(port: port, method, path, headers: headers, body: body, timeout: timeout)
    }

    /// Opens a keep-alive connection for several requests in a row.
    public func connect(timeout: Duration = .seconds(15)) throws(TestKitError) -> LoopbackHTTPConnection {
        try LoopbackHTTPConnection(port: port, timeout: timeout)
    }

    /// POSTs a JSON body to an API path (`/v1/batch` …) with `Authorization: Bearer key`
    /// (no Authorization header when `key` is nil).
    public func post(_ path: String, json: String, key: String? = StandInProcess.secretKey) throws(TestKitError)
        -> LoopbackHTTPResponse
    {
        var headers = ["Content-Type": "application/json"]
        if let key { headers["Authorization"] = "Bearer \(key)" }
        return try request("POST", path, headers: headers, body: Data(json.utf8))
    }

    /// Calls an admin endpoint: GET when `body` is nil, else POST with `body` as JSON.
    public func admin(_ path: String, body: [String: Any]? = nil, timeout: Duration = .seconds(60))
        throws(TestKitError) -> LoopbackHTTPResponse
    {
        guard let body else { return try request("GET", path, timeout: timeout) }
        guard let data = try? JSONSerialization.data(withJSONObject: body) else {
            throw TestKitError("cannot encode \(body) as JSON")
        }
        return try request("POST", path, headers: ["Content-Type": "application/json"], body: data, timeout: timeout)
    }

    /// Changes the faults (fields left out keep their value) and returns the full fault state.
    @discardableResult
    public func setFaults(_ faults: [String: Any]) throws(TestKitError) -> [String: Any] {
        try Self.ok(admin("/_admin/faults", body: faults), "/_admin/faults").json()
    }

    /// Clears stored events, log, stats and faults (back to the command-line settings).
    public func reset() throws(TestKitError) {
        _ = try Self.ok(admin("/_admin/reset", body: [:]), "/_admin/reset")
    }

    /// `GET /_admin/stats`.
    public func stats() throws(TestKitError) -> [String: Any] {
        try Self.ok(admin("/_admin/stats"), "/_admin/stats").json()
    }

    /// `GET /_admin/stats`, the counters as numbers.
    public func counters() throws(TestKitError) -> Counters {
        Counters(try stats())
    }

    /// `GET /_admin/log`: one object per answered /v1 request, in arrival order.
    public func log() throws(TestKitError) -> [[String: Any]] {
        try Self.ok(admin("/_admin/log"), "/_admin/log").jsonLines()
    }

    /// `GET /_admin/events`: every stored event (and identify/forget body) in arrival order.
    public func events() throws(TestKitError) -> [[String: Any]] {
        try Self.ok(admin("/_admin/events"), "/_admin/events").jsonLines()
    }

    private static func ok(_ response: LoopbackHTTPResponse, _ path: String) throws(TestKitError)
        -> LoopbackHTTPResponse
    {
        guard response.status == 200 else {
            throw TestKitError("\(path) answered \(response.status): \(response.text.prefix(300))")
        }
        return response
    }

    /// The counters of `GET /_admin/stats`.
    public struct Counters: Sendable, Equatable {
        /// /v1 requests answered.
        public var requests: Int
        public var byStatus: [String: Int]
        /// Unique events stored.
        public var events: Int
        /// Events received again with an `event_id` already stored.
        public var duplicates: Int
        /// Connections dropped by the `drop_connections` fault.
        public var dropped: Int

        init(_ object: [String: Any]) {
            func number(_ value: Any?) -> Int { (value as? NSNumber)?.intValue ?? 0 }
            requests = number(object["requests"])
            byStatus = (object["by_status"] as? [String: Any] ?? [:]).mapValues(number)
            events = number(object["events"])
            duplicates = number(object["duplicates"])
            dropped = number(object["dropped"])
        }

        public func count(status: Int) -> Int { byStatus[String(status)] ?? 0 }
    }
}
