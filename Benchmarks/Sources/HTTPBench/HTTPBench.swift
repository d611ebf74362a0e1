import ArgumentParser
import BenchmarkSupport
import Foundation
import RelayTestKit
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Requests/s and ack latency of the relay's HTTP listener (SPEC §4b), as apps that call the API
/// load it: keep-alive clients posting single events to /v1/track, and batches of 500 to
/// /v1/batch.
@main
struct HTTPBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http-bench",
        abstract: "Track requests/s and batch events/s through millimetric-relay's HTTP listener.",
        discussion: """
            Starts the release relay with http_listen on a free loopback port (upstream: a \
            stand-in started with --down, so delivery does not compete) and has each client, on \
            its own keep-alive connection and thread, post prepared requests: /v1/track with one \
            event, then /v1/batch with 500. Each request is timed from its write to its answer \
            (202 after the commit); depth 1 waits for each answer as an SDK does, a larger depth \
            pipelines. Requests/s runs from the first write to the last answer.
            Build the release binaries first: swift build -c release (in the repository root).
            """)

    // The command's own parameters. `duplicates` pairs runs of `@Option` + `var x = number` here
    // with fleet-bench's and chaos's by shape: they are declarations of different options, with nothing to share
    // (what is shared, the binaries, seed, work directory and synchronous mode, is an @OptionGroup).
    @Option(help: "Keep-alive clients (connections).")
    var clients = 4

    @Option(help: "/v1/track requests per client.")
    var trackRequests = 5_000

    @Option(help: "/v1/batch requests (of 500 events) per client.")
    var batchRequests = 40

    @Option(help: "Requests in flight per connection, comma-separated (1 = wait for each answer).")
    var depths = CommaSeparated<Int>([1, 32])

    @OptionGroup var durability: SynchronousOption

    @OptionGroup var session: BenchmarkOptions

    var depthList: [Int] { depths.values }

    func run() throws {
        try BenchmarkSession.run(name: "http-bench", options: session) {
            try measure(binaries: $0, directory: $1)
        }
    }

    func measure(binaries: Binaries, directory: TemporaryDirectory) throws {
        let standIn = try StandInProcess(executable: binaries.standIn, directory: directory, arguments: ["--down"])
        defer { standIn.stop() }
        let key = StandInProcess.secretKey
        var table = TextTable(["case", "depth", "requests/s", "events/s", "p50 ms", "p99 ms", "max ms"])
        for (number, depth) in depthList.enumerated() {
            let port = try Self.freePort()
            let relay = try RelayProcess(
                executable: binaries.relay, directory: directory.path, name: "h\(number)", host: standIn.baseURL,
                settings: ["synchronous": durability.synchronous.rawValue, "max_outbox_bytes": "8GiB", "http_listen": "127.0.0.1:\(port)"])
            defer { _ = try? relay.stop() }
            try Self.waitForListener(port: port)

            let track = (0..<clients).map { client in
                (0..<trackRequests).map { index in
                    KeepAliveHTTPClient.request(path: "/v1/track", key: key, body: Array(#"{"event":"bench_track","anonymous_id":"a\#(client)","user_id":"u\#(index % 100)","url":"https://example.com/p?utm_source=x","properties":{"n":\#(index),"plan":"pro"}}"#.utf8))
                }
            }
            let row = try load(track, port: port, depth: depth, eventsPerRequest: 1)
            table.rows.append(["/v1/track", String(depth)] + row)
            print("  track depth=\(depth): \(row[0]) requests/s, p50 \(row[2]) ms, p99 \(row[3]) ms")

            let batchDepth = min(depth, 2)
            let events = (0..<500).map { #"{"event":"bench_batch","user_id":"u\#($0 % 100)","properties":{"n":\#($0),"plan":"pro"}}"# }.joined(separator: ",")
            let batchBody = Array(#"{"events":[\#(events)]}"#.utf8)
            let batches = (0..<clients).map { _ in
                (0..<batchRequests).map { _ in KeepAliveHTTPClient.request(path: "/v1/batch", key: key, body: batchBody) }
            }
            let batchRow = try load(batches, port: port, depth: batchDepth, eventsPerRequest: 500)
            table.rows.append(["/v1/batch ×500", String(batchDepth)] + batchRow)
            print("  batch depth=\(batchDepth): \(batchRow[1]) events/s, p50 \(batchRow[2]) ms, p99 \(batchRow[3]) ms")
            try relay.stop()
            directory.remove("h\(number)-state")
        }
        print()
        print("\(clients) keep-alive clients, synchronous=\(durability.synchronous.rawValue), \(trackRequests) track and \(batchRequests) batch requests per client")
        print(table.render())
    }

    /// Runs one client per request list, each on its own thread and connection; returns the
    /// table cells requests/s, events/s, p50, p99, max.
    func load(_ lists: [[[UInt8]]], port: Int, depth: Int, eventsPerRequest: Int) throws -> [String] {
        let connections = try lists.map { _ throws(TestKitError) in try KeepAliveHTTPClient(port: port) }
        let results = Mutex<[Int: Result<KeepAliveHTTPClient.Result, TestKitError>]>([:])
        let done = DispatchSemaphore(value: 0)
        let started = Monotonic.nanoseconds()
        for (index, connection) in connections.enumerated() {
            let requests = lists[index]
            Thread.detachNewThread {
                let result = Result { () throws(TestKitError) in try connection.run(requests, depth: depth, expectedStatus: 202) }
                results.withLock { $0[index] = result }
                done.signal()
            }
        }
        for _ in connections { done.wait() }
        let seconds = Monotonic.seconds(from: started, to: Monotonic.nanoseconds())
        var latencies: [UInt64] = []
        var answered = 0
        for index in connections.indices {
            let result = try results.withLock { $0[index]! }.get()
            if let problem = result.firstUnexpected {
                throw TestKitError("\(result.unexpected) answers were not 202, the first: \(problem)")
            }
            answered += result.answered
            latencies += result.latenciesNanoseconds
        }
        let summary = LatencySummary(nanoseconds: latencies)!
        let requestsPerSecond = Double(answered) / seconds
        return [
            Format.rate(requestsPerSecond), Format.rate(requestsPerSecond * Double(eventsPerRequest)),
            Format.fixed(summary.p50Milliseconds), Format.fixed(summary.p99Milliseconds), Format.fixed(summary.maxMilliseconds),
        ]
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw TestKitError("cannot find a free port: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func waitForListener(port: Int) throws {
        let deadline = Monotonic.nanoseconds() + 30_000_000_000
        while Monotonic.nanoseconds() < deadline {
            if (try? KeepAliveHTTPClient(port: port)) != nil { return }
            Monotonic.sleep(seconds: 0.01)
        }
        throw TestKitError("the relay's HTTP listener on port \(port) did not accept within 30 s")
    }
}
