import Foundation
import RelayTestKit
import Testing

@testable import MillimetricRelay

/// SPEC §8 against the real daemon: readiness, watchdog, status, stop, socket activation, metrics.
@Suite struct SystemdTests {
    @Test func readyComesOnceTheSocketAcceptsThenWatchdogPingsStatusAndStoppingOnSigterm() throws {
        let relay = try RelayProcess(start: false)
        let notify = try NotifySocket(directory: relay.directory)
        relay.environment["NOTIFY_SOCKET"] = notify.path
        relay.environment["WATCHDOG_USEC"] = "1000000"  // pings every 0.5 s
        try relay.start(waitForSocket: false)
        #expect(RelayProcess.eventually(timeout: .seconds(20)) { notify.count(of: "READY=1") == 1 })
        // READY=1 means the socket accepts: connecting right away must work.
        #expect((try? IngestClient(path: relay.socketPath)) != nil)
        _ = try relay.send([#"{"event":"a","event_id":"sd-1"}"#])
        // Pings keep coming, about every half interval: wait for several, then look at the gaps.
        #expect(RelayProcess.eventually(timeout: .seconds(20)) { notify.count(of: "WATCHDOG=1") >= 5 }, "pings: \(notify.count(of: "WATCHDOG=1"))")
        let pingTimes = notify.lines.filter { $0.line == "WATCHDOG=1" }.map(\.at)
        let gaps = zip(pingTimes.dropFirst(), pingTimes).map { $0 - $1 }.sorted()
        try #require(gaps.count >= 4)
        #expect(gaps[gaps.count / 2] < .seconds(1), "the median gap between pings is not under WATCHDOG_USEC=1s: \(gaps)")
        let statuses = notify.lines.map(\.line).filter { $0.hasPrefix("STATUS=") }
        #expect(statuses.contains { $0.contains("queued 1 events") })
        #expect(statuses.allSatisfy { !$0.contains(StandInProcess.secretKey) })
        // SIGHUP (systemctl reload): RELOADING=1 with MONOTONIC_USEC, then READY=1 again.
        relay.signal(SIGHUP)
        #expect(RelayProcess.eventually(timeout: .seconds(10)) { notify.count(of: "READY=1") == 2 })
        let lines = notify.lines.map(\.line)
        let reloading = try #require(lines.firstIndex(of: "RELOADING=1"))
        #expect(lines[reloading + 1].hasPrefix("MONOTONIC_USEC="))
        #expect(lines.lastIndex(of: "READY=1")! > reloading)
        #expect(relay.terminate() == 0)
        #expect(notify.count(of: "STOPPING=1") == 1)
    }

    /// What `top -H` and `ps -L` show an operator: the relay's own threads by name.
    @Test func theRelaysThreadsCarryTheirNames() throws {
        let relay = try RelayProcess()
        defer { relay.terminate() }
        let pid = try #require(relay.pid)
        var names = Set<String>()
        let named = RelayProcess.eventually(timeout: .seconds(10)) {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
            names = Set(tasks.compactMap { task in
                (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/comm", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            })
            return names.isSuperset(of: ["outbox-writer", "drainer", "upstream-0"])
        }
        #expect(named, "threads: \(names.sorted())")
    }

    @Test func watchdogPingsStopWhenTheDrainerStalls() throws {
        let relay = try RelayProcess(start: false)
        let notify = try NotifySocket(directory: relay.directory)
        relay.environment["NOTIFY_SOCKET"] = notify.path
        relay.environment["WATCHDOG_USEC"] = "1000000"
        relay.environment["MILLIMETRIC_RELAY_TEST_STALL_DRAINER_AFTER"] = "3"
        try relay.start()
        #expect(RelayProcess.eventually(timeout: .seconds(10)) { notify.count(of: "WATCHDOG=1") >= 2 })
        // The stall starts 3 s after start; the daemon notices within 2.5 s and says so once.
        #expect(RelayProcess.eventually(timeout: .seconds(20)) { relay.allOutput.contains("not pinging the watchdog") })
        // Then the pings stop: wait until the last one is 3 watchdog intervals old. Pings that
        // went on would keep the last one young, and this would time out.
        func lastPing() -> ContinuousClock.Instant? { notify.lines.last { $0.line == "WATCHDOG=1" }?.at }
        #expect(RelayProcess.eventually(timeout: .seconds(20)) { lastPing().map { ContinuousClock.now - $0 > .seconds(3) } ?? false },
                "pings went on while the drainer was stalled")
        #expect(relay.allOutput.contains("watchdog.drainer=false"))
        // Ingest still works: only delivery is wedged; systemd would restart the service.
        #expect(try relay.send([#"{"event":"a"}"#]).first?.hasPrefix(#"{"ok":true"#) == true)
        relay.kill9()
    }

    @Test func socketActivationServesTheInheritedSocketAndLeavesItInPlace() throws {
        let relay = try RelayProcess(start: false)
        guard let (activate, log) = try Self.socketActivate(relay, listening: ["-l", relay.socketPath]) else { return }
        defer { if activate.isRunning { kill(activate.processIdentifier, SIGKILL) } }
        #expect(RelayProcess.eventually(timeout: .seconds(10)) { FileManager.default.fileExists(atPath: relay.socketPath) })
        // systemd-socket-activate starts the daemon on the first connection.
        let acks = try relay.send([#"{"event":"a","event_id":"act-1"}"#, #"{"event":"b","event_id":"act-2"}"#])
        #expect(acks == [#"{"ok":true,"event_id":"act-1"}"#, #"{"ok":true,"event_id":"act-2"}"#])
        #expect(RelayProcess.eventually(timeout: .seconds(10)) {
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("serving the socket inherited from systemd")
        })
        kill(activate.processIdentifier, SIGTERM)
        activate.waitUntilExit()
        #expect(activate.terminationStatus == 0)
        #expect(FileManager.default.fileExists(atPath: relay.socketPath), "an inherited socket must never be unlinked")
        #expect(try relay.queuedEventIDs() == ["act-1": 1, "act-2": 1])
    }

    /// millimetric-relay.socket and millimetric-relay-http.socket as systemd passes them: two
    /// descriptors named in LISTEN_FDNAMES, the HTTP one first to prove names, not order, decide.
    @Test func namedSocketActivationHandsTheIngestAndTheHTTPSocketsToTheirListeners() throws {
        let relay = try RelayProcess(start: false)
        let port = try Self.unusedLoopbackPort()
        guard let (activate, log) = try Self.socketActivate(
            relay, listening: ["-l", "127.0.0.1:\(port)", "-l", relay.socketPath, "--fdname=http:ingest"]) else { return }
        defer { if activate.isRunning { kill(activate.processIdentifier, SIGKILL) } }
        #expect(RelayProcess.eventually(timeout: .seconds(10)) { FileManager.default.fileExists(atPath: relay.socketPath) })
        // The first connection, on the HTTP socket, starts the daemon; the request waits in the
        // backlog meanwhile. A socket of the test's own, not curl: systemd-socket-activate closes
        // the descriptor Foundation watches its child with, after which Foundation's process
        // monitor blocks in waitpid for it and no other `Process` can finish until it exits.
        let connection = try LoopbackHTTPConnection(port: port, timeout: .seconds(30))
        let answer = try connection.send(
            "POST", "/v1/track",
            headers: ["Authorization": "Bearer \(StandInProcess.secretKey)", "Content-Type": "application/json"],
            body: Data(#"{"event":"signup","event_id":"act-http-1","user_id":"user_42"}"#.utf8))
        #expect(answer.status == 202, "\(answer.text)")
        #expect(answer.text.contains(#""event_id":"act-http-1""#), "\(answer.text)")
        let acks = try relay.send([#"{"event":"a","event_id":"act-line-1"}"#])
        #expect(acks == [#"{"ok":true,"event_id":"act-line-1"}"#])
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(text.contains("serving the socket inherited from systemd"), "\(text)")
        #expect(text.contains("serving the API's HTTP on the socket inherited from systemd"), "\(text)")
        #expect(!text.contains("does not use"), "\(text)")
        kill(activate.processIdentifier, SIGTERM)
        activate.waitUntilExit()
        #expect(activate.terminationStatus == 0)
        #expect(FileManager.default.fileExists(atPath: relay.socketPath), "an inherited socket must never be unlinked")
        #expect(try relay.queuedEventIDs() == ["act-http-1": 1, "act-line-1": 1])
    }

    /// Starts `relay` (not started yet) the way systemd would, under systemd-socket-activate
    /// with `listening` (its -l and --fdname options); the process and its log. Nil, with an
    /// issue recorded, where systemd-socket-activate is not installed.
    static func socketActivate(_ relay: RelayProcess, listening: [String]) throws -> (Process, URL)? {
        let activate = Process()
        activate.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-socket-activate")
        guard FileManager.default.isExecutableFile(atPath: activate.executableURL!.path) else {
            Issue.record("systemd-socket-activate is not installed (Debian package systemd)")
            return nil
        }
        // systemd-socket-activate passes on only the variables named with -E.
        let passed = relay.environment.keys.sorted().flatMap { ["-E", $0] }
        activate.arguments = listening + passed + [try RelayProcess.executableURL().path, "run", "--state-dir", relay.stateDirectory]
        activate.environment = relay.environment
        let log = relay.directory.appendingPathComponent("activate.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        activate.standardError = try FileHandle(forWritingTo: log)
        activate.standardOutput = activate.standardError
        try activate.run()
        return (activate, log)
    }

    /// A 127.0.0.1 port nothing listens on (the kernel picks it; closed again at once).
    static func unusedLoopbackPort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw RelayFailure("socket failed") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw RelayFailure("bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test func theMetricsEndpointCountsEventsAsTheyFlow() throws {
        // Port 0: the listener binds a port the kernel picks and logs it.
        let relay = try RelayProcess(environment: RelayProcess.metricsOnAnyPort)
        defer { relay.terminate() }
        _ = try relay.send((0..<5).map { #"{"event":"m","event_id":"m-\#($0)"}"# } + ["not json"])
        #expect(try relay.metric("millimetric_relay_events_acked_total") == 5)
        #expect(try relay.metric("millimetric_relay_lines_received_total") == 6)
        #expect(try relay.metric(#"millimetric_relay_lines_refused_total{reason="invalid_json"}"#) == 1)
        _ = try relay.send((5..<12).map { #"{"event":"m","event_id":"m-\#($0)"}"# })
        #expect(try relay.metric("millimetric_relay_events_acked_total") == 12)
        #expect(try RelayProcess.eventually(timeout: .seconds(5)) { try relay.metric("millimetric_relay_queue_events") == 12 })
        #expect(try RelayProcess.httpGet("http://127.0.0.1:\(try relay.metricsPort())/metrics").contains("millimetric_relay_upstream_requests_total{"))
    }
}
