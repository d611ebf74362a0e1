import ArgumentParser
import Foundation
import Logging

/// `millimetric-api-standin`: a local stand-in for the Millimetric API.
///
/// The relay is tested end to end against it: it serves `/v1/track`, `/v1/batch`,
/// `/v1/identify` and `/v1/forget` with the API's keys, limits and error bodies, and has admin
/// endpoints to stage outages, latency, forced statuses, 429s and single bad events, and to read
/// back what arrived. The first line on stdout is `listening on HOST:PORT`, so a parent that
/// passed `--port 0` learns the port.
@main
struct StandInCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "millimetric-api-standin",
        abstract: "A local stand-in for the Millimetric API, for development and tests.",
        discussion: """
            API: POST /v1/track, /v1/batch ({"events":[...]}, 1-500 events),
            /v1/identify and /v1/forget, with a JSON body and the header
            'Authorization: Bearer <key>'. Keys must match (pk|sk|rk)_*_*_*;
            pk_ and rk_ keys get 403. Bodies over 262,144 bytes get 413. One
            invalid event refuses its whole batch (400 naming events[i].field).
            Events are stored once per event_id.

            Admin endpoints (no key; never faulted, never logged):
              POST /_admin/faults   change faults; absent fields keep their
                                    value. Fields: down, drop_connections,
                                    latency_ms, force_status, force_count,
                                    retry_after, reject_event_marker,
                                    rate_limits. GET shows them.
              GET  /_admin/stats    counters by path and status, events,
                                    duplicates, identifies, forgets.
              GET  /_admin/log      NDJSON, one line per answered /v1 request.
              GET  /_admin/events   NDJSON of the stored events as received.
              POST /_admin/reset    clear everything; faults return to the
                                    command-line settings.

            The first line on stdout is 'listening on HOST:PORT'.
            """
    )

    @Option(help: "Loopback address to listen on (127.0.0.0/8, ::1 or localhost).")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one.")
    var port = 8787

    @Option(help: "Comma-separated API keys to accept; others get 401 invalid_api_key. Default: any well-formed key.")
    var keys: String?

    @Flag(help: "Start with the rate limits switched off.")
    var noRateLimits = false

    @Option(help: "Batch requests per second.")
    var batchRate: Double = RateLimit.batchDefault.perSecond

    @Option(help: "Batch burst.")
    var batchBurst: Int = RateLimit.batchDefault.burst

    @Option(help: "Track, identify and forget requests per second (one shared limit).")
    var trackRate: Double = RateLimit.trackDefault.perSecond

    @Option(help: "Track-class burst.")
    var trackBurst: Int = RateLimit.trackDefault.burst

    @Option(help: "Start with this delay, in milliseconds, before each /v1 answer.")
    var latencyMs = 0

    @Flag(help: "Start with the API down (every /v1 request gets 503).")
    var down = false

    @Option(help: "Log level on stderr: trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @Flag(help: "Exit when standard input reaches its end (so a test harness that dies takes the stand-in along).")
    var exitWithStdin = false

    func validate() throws {
        guard LoopbackHost.bindAddress(for: self.host) != nil else {
            throw ValidationError(
                "--host must be a loopback address (127.0.0.0/8, ::1 or localhost), got '\(self.host)'."
            )
        }
        guard (0...65_535).contains(self.port) else {
            throw ValidationError("--port must be from 0 to 65535.")
        }
        guard self.batchRate > 0, self.trackRate > 0, self.batchBurst >= 1, self.trackBurst >= 1 else {
            throw ValidationError("Rates must be positive and bursts at least 1.")
        }
        guard (0...600_000).contains(self.latencyMs) else {
            throw ValidationError("--latency-ms must be from 0 to 600000.")
        }
        guard Logger.Level(rawValue: self.logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical.")
        }
        if let keys = self.parsedKeys, let bad = keys.first(where: { !APIKeyPolicy.isWellFormed($0) }) {
            throw ValidationError("--keys: '\(bad.prefix(3))…' doesn't match (pk|sk|rk)_*_*_*.")
        }
    }

    func run() throws {
        let level = Logger.Level(rawValue: self.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "millimetric-api-standin")

        var faults = FaultState()
        faults.down = self.down
        faults.latencyMilliseconds = self.latencyMs
        faults.rateLimits = !self.noRateLimits
        let configuration = StandInConfiguration(
            knownKeys: self.parsedKeys.map(Set.init),
            batchLimit: RateLimit(perSecond: self.batchRate, burst: self.batchBurst),
            trackLimit: RateLimit(perSecond: self.trackRate, burst: self.trackBurst),
            initialFaults: faults
        )
        let api = StandInAPI(configuration: configuration, logger: logger)
        guard let address = LoopbackHost.bindAddress(for: self.host) else { throw ExitCode.validationFailure }
        let server: StandInServer
        do {
            server = try StandInServer(address: address, port: self.port, api: api, logger: logger)
        } catch {
            logger.critical(
                "cannot listen",
                metadata: ["net.host": "\(self.host)", "net.port": "\(self.port)", "error.message": "\(error)"]
            )
            throw ExitCode.failure
        }

        let trigger = ShutdownTrigger(watchStandardInput: self.exitWithStdin) { reason in
            logger.info("shutting down", metadata: ["standin.reason": "\(reason)"])
            server.close()
        }
        // Unbuffered, and before anything else on stdout: the parent reads the port from it.
        FileHandle.standardOutput.write(Data("listening on \(server.listeningAddress)\n".utf8))
        logger.info(
            "listening",
            metadata: [
                "net.address": "\(server.listeningAddress)",
                "standin.rate_limits": "\(!self.noRateLimits)",
                "standin.keys": "\(self.parsedKeys?.count ?? 0)",
            ]
        )
        try server.waitUntilClosed()
        withExtendedLifetime(trigger) {}
        logger.info("stopped")
    }

    private var parsedKeys: [String]? {
        self.keys.map {
            $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }
}
