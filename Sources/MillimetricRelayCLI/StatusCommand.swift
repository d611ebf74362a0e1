import ArgumentParser
import FoundationEssentials
import Glibc
import MillimetricRelay

/// `status`: what the outbox holds and how delivery goes; works while the daemon is stopped.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the outbox and delivery state (reads the database read-only).")

    @OptionGroup var options: ConfigurationOptions

    @Flag(help: "Print JSON for machines.")
    var json = false

    func run() throws {
        let configuration = try options.resolve()
        let status: OutboxStatus
        do {
            status = try OutboxStatus.read(databasePath: configuration.databasePath, lockPath: configuration.lockPath)
        } catch {
            printError("millimetric-relay status: \(error)")
            throw ExitCode(error.isConfigurationProblem ? RelayExitCode.configuration.rawValue : RelayExitCode.unavailable.rawValue)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            encoder.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try encoder.encode(status), as: UTF8.self))
        } else {
            print(StatusFormatter.text(status, now: Date()))
        }
    }
}

/// The human form of `status`.
enum StatusFormatter {
    static func text(_ status: OutboxStatus, now: Date) -> String {
        func when(_ date: Date?) -> String {
            guard let date else { return "never" }
            return "\(date.formatted(.iso8601)) (\(age(now.timeIntervalSince(date))) ago)"
        }
        var upstream = status.upstreamState
        if status.upstreamState == "backing_off", let until = status.upstreamUntil {
            upstream += " until \(until.formatted(.iso8601))"
        }
        if let reason = status.upstreamReason, status.upstreamState == "paused" {
            upstream += ": \(reason)"
        }
        var lines = [
            "daemon:          \(status.daemonRunning ? "running" : "not running")",
            "queued:          \(status.queuedEvents) events, \(status.queuedBytes) bytes",
            "oldest queued:   \(status.oldestQueuedAt.map { "\(age(now.timeIntervalSince($0))) old" } ?? "-")",
            "delivered:       \(status.deliveredTotal) events, last success \(when(status.lastSuccessAt))",
            "dead letters:    \(status.deadLetters) (\(status.deadLetterBytes) bytes), \(status.deadLetteredTotal) dead-lettered in total",
            "upstream:        \(upstream)",
            "socket lines:    \(status.linesReceived) received, \(status.linesRefused) refused",
        ]
        if status.backfillEvents > 0 {
            var line = "backfill:        \(status.backfillEvents) events queued behind live ones"
            if let rate = status.deliveryRate, let seconds = status.backfillDrainSeconds {
                line += ", drains in ~\(duration(seconds)) at \(rate) events/s"
            } else {
                line += ", drain time unknown (no delivery rate measured in the last minute)"
            }
            lines.append(line)
        }
        // Beside the socket's lines: one line per HTTP path, its requests by status.
        var byPath: [(path: String, counts: [String])] = []
        for request in status.httpRequests {
            if byPath.last?.path != request.path { byPath.append((request.path, [])) }
            byPath[byPath.count - 1].counts.append("\(request.count) × \(request.status)")
        }
        if byPath.isEmpty {
            lines.append("http requests:   -")
        }
        for (index, entry) in byPath.enumerated() {
            lines.append("\(index == 0 ? "http requests:  " : "                ") \(entry.path): \(entry.counts.joined(separator: ", "))")
        }
        if let rate = status.batchSendRate {
            var line = "send rate:       \(twoDecimals(rate)) batch requests/s"
            if status.queuedEvents > 0, let seconds = status.drainsInSeconds {
                line += ", drains in ~\(duration(seconds))"
            }
            lines.append(line)
        }
        if status.refusedForgets > 0 {
            lines.append("refused forgets: \(status.refusedForgets) (see dead-letters list)")
        }
        if let since = status.purgePendingCheckpointSince {
            lines.append("erasure:         purge pending checkpoint since \(when(since)): a reader holds an older snapshot, so purged data is still in the WAL; retried every second")
        }
        if let error = status.lastError {
            lines.append("last error:      \(error) at \(when(status.lastErrorAt))")
        }
        return lines.joined(separator: "\n")
    }

    static func twoDecimals(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// "12 s", "12 min", "3 h": a drain estimate (the whole queue's at the send rate, the
    /// backfill's at the measured delivery rate), rounded up: both in one format, unlike
    /// ``age(_:)``, which says how long ago something was.
    static func duration(_ seconds: Int64) -> String {
        if seconds < 120 { return "\(seconds) s" }
        if seconds < 7200 { return "\((seconds + 59) / 60) min" }
        return "\((seconds + 3599) / 3600) h"
    }

    static func age(_ seconds: TimeInterval) -> String {
        let s = max(0, Int(seconds))
        if s < 120 { return "\(s)s" }
        if s < 7200 { return "\(s / 60)m" }
        if s < 172_800 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }
}
