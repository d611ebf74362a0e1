import Foundation

/// The API stand-in as a child process on 127.0.0.1 (a free port), and its admin endpoints.
///
/// It gets `--exit-with-stdin` and a pipe this process holds, so it exits with the chaos run
/// however that ends.
final class StandIn: @unchecked Sendable {
    // @unchecked Sendable: every stored property is set in init and never changes; `Process`
    // may be queried and waited on from any thread.

    let port: Int
    var baseURL: String { "http://127.0.0.1:\(port)" }
    private let process: Process
    private let input: Pipe
    private let output: Pipe

    init(executable: String, logPath: String) throws(ChaosError) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        // Rate limits stay on: a relay restarted with full token buckets may draw a real 429.
        process.arguments = ["--port", "0", "--exit-with-stdin", "--log-level", "warning"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: logPath)
        do {
            try process.run()
        } catch {
            throw ChaosError("cannot start \(executable): \(error)")
        }
        ChildRegistry.add(process.processIdentifier)
        self.process = process
        self.input = input
        self.output = output
        let line = Self.firstLine(of: output.fileHandleForReading.fileDescriptor, timeoutSeconds: 20)
        guard let line, line.hasPrefix("listening on "), let colon = line.lastIndex(of: ":"),
            let port = Int(line[line.index(after: colon)...])
        else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw ChaosError("the stand-in did not report its port (got \(line ?? "nothing")); see \(logPath)")
        }
        self.port = port
    }

    /// Changes the faults; fields left out keep their value.
    func setFaults(_ faults: [String: Any]) throws(ChaosError) {
        let response = try LoopbackHTTP.request(port: port, "POST", "/_admin/faults", json: faults)
        guard response.status == 200 else {
            throw ChaosError("POST /_admin/faults \(faults) answered \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
    }

    func stats() throws(ChaosError) -> [String: Any] {
        try LoopbackHTTP.request(port: port, "GET", "/_admin/stats").object()
    }

    /// The event_id of every stored track event.
    func storedEventIDs() throws(ChaosError) -> [String] {
        let response = try LoopbackHTTP.request(port: port, "GET", "/_admin/events", timeoutSeconds: 60)
        guard response.status == 200 else { throw ChaosError("GET /_admin/events answered \(response.status)") }
        var ids: [String] = []
        for line in response.body.split(separator: UInt8(ascii: "\n")) {
            if let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any], let id = object["event_id"] as? String {
                ids.append(id)
            }
        }
        return ids
    }

    /// SIGTERM, then SIGKILL after 5 s.
    func stop() {
        if process.isRunning {
            process.terminate()
            let deadline = ContinuousClock.now + .seconds(5)
            while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        try? input.fileHandleForWriting.close()
        ChildRegistry.remove(process.processIdentifier)
    }

    private static func firstLine(of descriptor: Int32, timeoutSeconds: Int) -> String? {
        let deadline = ContinuousClock.now + .seconds(timeoutSeconds)
        var bytes: [UInt8] = []
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            var byte: UInt8 = 0
            guard read(descriptor, &byte, 1) == 1 else { return nil }
            if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
        return nil
    }
}
