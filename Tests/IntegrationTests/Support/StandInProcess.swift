import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A running `millimetric-api-standin` (the local Millimetric API), started for one test.
///
/// Integration tests start one per test, so tests stay independent and can run in parallel:
///
/// ```swift
/// let api = try StandInProcess(arguments: ["--no-rate-limits"])
/// defer { api.stop() }
/// // point the relay at api.baseURL …
/// try api.setFaults(["down": true])
/// let log = try api.log()
/// ```
///
/// The stand-in listens on 127.0.0.1 on a free port (`--port 0`); the port is read from its
/// first stdout line. It is stopped with SIGTERM by ``stop()`` or, at the latest, in `deinit`.
/// It also gets `--exit-with-stdin` and a pipe as stdin, so if the test process dies without
/// cleaning up (a crash, `kill -9`), the pipe closes and the stand-in exits instead of lingering.
///
/// The HTTP helpers are deliberately plain, blocking HTTP/1.1 over a POSIX socket: they show
/// exactly what went over the wire (status, headers such as `Retry-After`, a connection closed
/// without an answer), which a higher-level client would hide or retry.
final class StandInProcess: @unchecked Sendable {
    // @unchecked Sendable: the stored properties are immutable after init except `stopped`, which
    // is a Mutex; Process and Pipe are thread-safe for the calls made here (terminate, isRunning).

    /// A well-formed secret (`sk_`) key, accepted unless `--keys` was given without it.
    static let secretKey = "sk_test_standin_0001"

    /// The port the stand-in listens on, on 127.0.0.1.
    let port: Int
    /// The stand-in's base URL, for the relay's `--host` / `MILLIMETRIC_HOST`.
    var baseURL: String { "http://127.0.0.1:\(self.port)" }

    private let process: Process
    private let standardInput: Pipe
    private let standardOutput: Pipe
    private let exitStatus = Mutex<Int32?>(nil)

    /// Starts the stand-in with `--port 0 --log-level warning` plus `arguments` (for example
    /// `["--keys", "sk_a_b_c"]`, `["--no-rate-limits"]` or `["--log-level", "debug"]`; a repeated
    /// option overrides) and waits until it listens. Its stderr goes to the test's stderr.
    init(arguments: [String] = [], startupTimeout: Duration = .seconds(10)) throws {
        let process = Process()
        process.executableURL = try Self.executableURL()
        process.arguments = ["--port", "0", "--exit-with-stdin", "--log-level", "warning"] + arguments
        let standardInput = Pipe()
        let standardOutput = Pipe()
        process.standardInput = standardInput
        process.standardOutput = standardOutput
        try process.run()
        self.process = process
        self.standardInput = standardInput
        self.standardOutput = standardOutput
        do {
            let line = try Self.readLine(
                from: standardOutput.fileHandleForReading.fileDescriptor,
                timeout: startupTimeout
            )
            guard line.hasPrefix("listening on "), let colon = line.lastIndex(of: ":"),
                let port = Int(line[line.index(after: colon)...])
            else {
                throw Failure("unexpected first line from the stand-in: \(line)")
            }
            self.port = port
        } catch {
            Self.terminate(process)
            throw error
        }
    }

    deinit {
        self.stop()
    }

    /// Stops the stand-in with SIGTERM (SIGKILL after 5 s) and returns its exit status; 0 means
    /// it shut down cleanly. Calling it again returns the same status.
    @discardableResult
    func stop() -> Int32 {
        self.exitStatus.withLock { status in
            if let status { return status }
            let result = Self.terminate(self.process)
            try? self.standardInput.fileHandleForWriting.close()
            try? self.standardOutput.fileHandleForReading.close()
            status = result
            return result
        }
    }

    // MARK: - Requests

    /// Sends one request on a new connection and reads the answer.
    ///
    /// Throws ``Failure/connectionClosed`` when the stand-in closed the connection without
    /// answering (the `drop_connections` fault).
    func request(
        _ method: String,
        _ path: String,
        headers: [String: String] = [:],
        body: Data? = nil,
        timeout: Duration = .seconds(10)
    ) throws -> Response {
        let connection = try self.connect(timeout: timeout)
        return try connection.send(method, path, headers: headers, body: body)
    }

    /// POSTs a JSON body to an API path (`/v1/batch` …) with `Authorization: Bearer key`
    /// (no Authorization header when `key` is nil).
    func post(_ path: String, json: String, key: String? = StandInProcess.secretKey) throws -> Response {
        var headers = ["Content-Type": "application/json"]
        if let key { headers["Authorization"] = "Bearer \(key)" }
        return try self.request("POST", path, headers: headers, body: Data(json.utf8))
    }

    /// Calls an admin endpoint: GET when `body` is nil, else POST with `body` as JSON.
    func admin(_ path: String, body: [String: Any]? = nil) throws -> (status: Int, body: Data) {
        let response: Response
        if let body {
            let data = try JSONSerialization.data(withJSONObject: body)
            response = try self.request("POST", path, headers: ["Content-Type": "application/json"], body: data)
        } else {
            response = try self.request("GET", path)
        }
        return (response.status, response.body)
    }

    /// Changes the faults (fields left out keep their value) and returns the full fault state.
    @discardableResult
    func setFaults(_ faults: [String: Any]) throws -> [String: Any] {
        try Self.object(self.admin("/_admin/faults", body: faults), path: "/_admin/faults")
    }

    /// Clears stored events, log, stats and faults (back to the command-line settings).
    func reset() throws {
        _ = try Self.object(self.admin("/_admin/reset", body: [:]), path: "/_admin/reset")
    }

    /// `GET /_admin/stats`.
    func stats() throws -> [String: Any] {
        try Self.object(self.admin("/_admin/stats"), path: "/_admin/stats")
    }

    /// `GET /_admin/log`: one object per answered /v1 request, in arrival order.
    func log() throws -> [[String: Any]] {
        try Self.lines(self.admin("/_admin/log"), path: "/_admin/log")
    }

    /// `GET /_admin/events`: every stored event (and identify/forget body) in arrival order.
    func events() throws -> [[String: Any]] {
        try Self.lines(self.admin("/_admin/events"), path: "/_admin/events")
    }

    /// Opens a keep-alive connection for several requests in a row.
    func connect(timeout: Duration = .seconds(10)) throws -> Connection {
        try Connection(port: self.port, timeout: timeout)
    }

    /// Runs the stand-in with `arguments` to completion and returns its exit status (for
    /// testing the command line itself, e.g. that a non-loopback `--host` exits 64).
    static func exitStatus(arguments: [String], timeout: Duration = .seconds(10)) throws -> Int32 {
        let process = Process()
        process.executableURL = try self.executableURL()
        process.arguments = arguments
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline {
            usleep(10_000)
        }
        if process.isRunning {
            return self.terminate(process)
        }
        return process.terminationStatus
    }

    // MARK: - Types

    /// One HTTP answer.
    struct Response: Sendable {
        let status: Int
        /// Header names are lower-cased.
        let headers: [String: String]
        let body: Data

        /// The body parsed as a JSON object.
        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: self.body) as? [String: Any] else {
                throw Failure("answer is not a JSON object: \(self.text)")
            }
            return object
        }

        var text: String { String(decoding: self.body, as: UTF8.self) }
    }

    /// Why a helper failed.
    struct Failure: Error, CustomStringConvertible, Equatable {
        let description: String

        init(_ description: String) {
            self.description = description
        }

        /// The stand-in closed the connection without answering.
        static let connectionClosed = Failure("connection closed without an answer")
        /// No answer within the timeout.
        static let timedOut = Failure("timed out waiting for the stand-in")
    }

    /// A blocking HTTP/1.1 client connection to the stand-in, reusable for keep-alive requests.
    final class Connection {
        #if canImport(Glibc)
        private static let sendFlags = Int32(MSG_NOSIGNAL)
        #else
        private static let sendFlags: Int32 = 0
        #endif

        private let port: Int
        private let descriptor: Int32
        private var pending: [UInt8] = []

        /// Any HTTP/1.1 server on 127.0.0.1 (the relay's HTTP listener too, where a test must
        /// not start a `Process`, see `SystemdTests`).
        init(port: Int, timeout: Duration) throws {
            #if canImport(Glibc)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #else
            let descriptor = socket(AF_INET, SOCK_STREAM, 0)
            #endif
            guard descriptor >= 0 else { throw Failure("socket() failed: errno \(errno)") }
            self.port = port
            self.descriptor = descriptor
            var time = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            #if canImport(Darwin)
            var noSignal: Int32 = 1
            setsockopt(descriptor, SOL_SOCKET, SO_NOSIGPIPE, &noSignal, socklen_t(MemoryLayout<Int32>.size))
            #endif
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    #if canImport(Glibc)
                    Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    #else
                    Darwin.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    #endif
                }
            }
            guard connected == 0 else { throw Failure("connect to 127.0.0.1:\(port) failed: errno \(errno)") }
        }

        deinit {
            close(self.descriptor)
        }

        /// Sends a request and reads its answer (which must carry Content-Length, as the
        /// stand-in's always do).
        func send(
            _ method: String,
            _ path: String,
            headers: [String: String] = [:],
            body: Data? = nil
        ) throws
            -> Response
        {
            var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(self.port)\r\n"
            for (name, value) in headers { head += "\(name): \(value)\r\n" }
            head += "Content-Length: \(body?.count ?? 0)\r\n\r\n"
            try self.writeAll(Array(head.utf8) + (body.map { Array($0) } ?? []))
            return try self.readResponse()
        }

        private func writeAll(_ bytes: [UInt8]) throws {
            var offset = 0
            while offset < bytes.count {
                // send(MSG_NOSIGNAL), not write: a closed connection must not raise SIGPIPE and
                // kill the test runner.
                let written = bytes[offset...].withUnsafeBytes {
                    #if canImport(Glibc)
                    Glibc.send(self.descriptor, $0.baseAddress, $0.count, Self.sendFlags)
                    #else
                    Darwin.send(self.descriptor, $0.baseAddress, $0.count, Self.sendFlags)
                    #endif
                }
                if written < 0 {
                    if errno == EINTR { continue }
                    // The stand-in may answer early (413) and close; the answer is still readable.
                    if errno == EPIPE || errno == ECONNRESET { return }
                    throw errno == EAGAIN ? Failure.timedOut : Failure("write failed: errno \(errno)")
                }
                offset += written
            }
        }

        private func readResponse() throws -> Response {
            while true {
                let headerEnd = try self.readUntilHeaderEnd()
                let headText = String(decoding: self.pending[..<headerEnd], as: UTF8.self)
                var lines = headText.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst().split(separator: " ")
                guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
                    throw Failure("bad status line: \(headText)")
                }
                var headers: [String: String] = [:]
                for line in lines where !line.isEmpty {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    let name = line[..<colon].lowercased()
                    headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                self.pending.removeFirst(headerEnd + 4)
                if status == 100 { continue }
                let length = Int(headers["content-length"] ?? "0") ?? 0
                while self.pending.count < length {
                    guard try self.fill() else { throw Failure.connectionClosed }
                }
                let body = Data(self.pending[..<length])
                self.pending.removeFirst(length)
                return Response(status: status, headers: headers, body: body)
            }
        }

        private func readUntilHeaderEnd() throws -> Int {
            let terminator: [UInt8] = [13, 10, 13, 10]
            while true {
                if self.pending.count >= 4 {
                    for index in 0...(self.pending.count - 4)
                    where self.pending[index..<(index + 4)].elementsEqual(terminator) {
                        return index
                    }
                }
                guard try self.fill() else { throw Failure.connectionClosed }
            }
        }

        /// Reads more bytes; false at end of stream.
        private func fill() throws -> Bool {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(self.descriptor, $0.baseAddress, $0.count) }
                if count > 0 {
                    self.pending.append(contentsOf: buffer[..<count])
                    return true
                }
                if count == 0 { return false }
                if errno == EINTR { continue }
                if errno == ECONNRESET { return false }
                throw errno == EAGAIN || errno == EWOULDBLOCK
                    ? Failure.timedOut : Failure("read failed: errno \(errno)")
            }
        }
    }

    // MARK: - Private

    /// Finds the built `millimetric-api-standin` next to the test bundle; `MILLIMETRIC_API_STANDIN`
    /// overrides.
    private static func executableURL() throws -> URL {
        try TestExecutables.find(named: "millimetric-api-standin")
    }

    /// Reads one line from `descriptor`, waiting at most `timeout`.
    private static func readLine(from descriptor: Int32, timeout: Duration) throws -> String {
        let deadline = ContinuousClock.now + timeout
        var bytes: [UInt8] = []
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { throw Failure("the stand-in did not start within \(timeout)") }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(remaining.components.seconds * 1_000 + 1))
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { continue }
            var byte: UInt8 = 0
            let count = read(descriptor, &byte, 1)
            if count == 0 { throw Failure("the stand-in exited before listening") }
            if count < 0 { continue }
            if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
    }

    /// SIGTERM, then SIGKILL after 5 s; returns the exit status.
    @discardableResult
    private static func terminate(_ process: Process) -> Int32 {
        if process.isRunning {
            process.terminate()
            let deadline = ContinuousClock.now + .seconds(5)
            while process.isRunning, ContinuousClock.now < deadline {
                usleep(5_000)
            }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
            }
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    private static func object(_ answer: (status: Int, body: Data), path: String) throws -> [String: Any] {
        guard answer.status == 200,
            let object = try JSONSerialization.jsonObject(with: answer.body) as? [String: Any]
        else {
            throw Failure("\(path) answered \(answer.status): \(String(decoding: answer.body, as: UTF8.self))")
        }
        return object
    }

    private static func lines(_ answer: (status: Int, body: Data), path: String) throws -> [[String: Any]] {
        guard answer.status == 200 else {
            throw Failure("\(path) answered \(answer.status): \(String(decoding: answer.body, as: UTF8.self))")
        }
        return try answer.body.split(separator: UInt8(ascii: "\n")).map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                throw Failure("\(path): a line is not a JSON object")
            }
            return object
        }
    }
}
