import Foundation

/// A running `millimetric-api-standin` on 127.0.0.1, on a free port.
///
/// It is started with `--exit-with-stdin`, so it also ends when the benchmark dies without a
/// chance to stop it.
public final class StandIn: Sendable {
    public let child: ChildProcess
    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts the stand-in with `arguments` (for example `--down`, `--no-rate-limits`) and waits
    /// for its `listening on 127.0.0.1:PORT` line.
    public init(executable: String, directory: TemporaryDirectory, name: String = "standin", arguments: [String])
        throws(BenchmarkError)
    {
        let child = try ChildProcess(
            name: name, executable: executable,
            arguments: ["--port", "0", "--host", "127.0.0.1", "--exit-with-stdin", "--log-level", "warning"]
                + arguments,
            environment: ["PATH": "/usr/bin:/bin"],
            stdoutPath: directory.file("\(name).out"), stderrPath: directory.file("\(name).log"), keepStdinOpen: true)
        let deadline = Monotonic.nanoseconds() + 20_000_000_000
        var port: Int?
        while port == nil && Monotonic.nanoseconds() < deadline {
            if let line = child.stdoutText.split(separator: "\n").first, line.hasPrefix("listening on "),
                let colon = line.lastIndex(of: ":")
            {
                port = Int(line[line.index(after: colon)...])
                break
            }
            if !child.isRunning { break }
            Monotonic.sleep(seconds: 0.01)
        }
        guard let port else {
            child.stop()
            throw BenchmarkError("the stand-in did not report its port:\n\(child.stderrTail())")
        }
        self.child = child
        self.port = port
    }

    /// `POST /_admin/faults` with a JSON object such as `{"down":false}`.
    public func setFaults(_ json: String) throws(BenchmarkError) {
        let response = try LoopbackHTTP.request(
            port: port, method: "POST", path: "/_admin/faults", body: Array(json.utf8))
        guard response.status == 200 else {
            throw BenchmarkError(
                "the stand-in refused faults \(json): \(response.status) \(String(decoding: response.body, as: UTF8.self))"
            )
        }
    }

    /// `GET /_admin/stats`.
    public func stats() throws(BenchmarkError) -> Stats {
        let response = try LoopbackHTTP.request(port: port, method: "GET", path: "/_admin/stats")
        guard response.status == 200 else { throw BenchmarkError("stand-in stats: HTTP \(response.status)") }
        let object = try response.jsonObject()
        var byStatus: [String: Int] = [:]
        for (status, count) in object["by_status"] as? [String: Any] ?? [:] {
            byStatus[status] = (count as? NSNumber)?.intValue ?? 0
        }
        return Stats(
            requests: (object["requests"] as? NSNumber)?.intValue ?? 0, byStatus: byStatus,
            events: (object["events"] as? NSNumber)?.intValue ?? 0,
            duplicates: (object["duplicates"] as? NSNumber)?.intValue ?? 0)
    }

    /// Stops the stand-in (SIGTERM, then SIGKILL).
    public func stop() {
        child.stop(timeout: 10)
    }

    /// The counters of `GET /_admin/stats` that the benchmarks use.
    public struct Stats: Sendable, Equatable {
        public var requests: Int
        public var byStatus: [String: Int]
        /// Unique events stored.
        public var events: Int
        /// Events received again with an `event_id` already stored.
        public var duplicates: Int

        public func count(status: Int) -> Int { byStatus[String(status)] ?? 0 }
    }
}
