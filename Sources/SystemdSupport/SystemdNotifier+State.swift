extension SystemdNotifier {
    /// One assignment in a notification message (see `sd_notify(3)`).
    ///
    /// Only the states the relay uses are modelled, so every message it can send is one systemd
    /// 252 understands. Values are rendered by ``SystemdNotifier/send(_:)``; a status text is
    /// made single-line there, because the protocol is newline-separated `KEY=VALUE` pairs and a
    /// stray newline would otherwise inject a second assignment.
    public enum State: Sendable, Hashable {
        /// `READY=1`: start-up is complete (outbox open, socket accepting).
        case ready
        /// `RELOADING=1` plus `MONOTONIC_USEC=<now>`: a configuration reload has begun.
        case reloading
        /// `STOPPING=1`: shutdown has begun.
        case stopping
        /// `WATCHDOG=1`: keep-alive ping for `WatchdogSec=`.
        case watchdog
        /// `STATUS=<text>`: free-form one-line status for `systemctl status`.
        case status(String)
        /// `EXTEND_TIMEOUT_USEC=<µs>`: ask for more time to start, reload or stop than the unit's
        /// timeout allows, for example while a long shutdown drain is still making progress.
        case extendTimeout(Duration)

        /// The `KEY=VALUE` lines of this state.
        func lines(monotonicMicroseconds: UInt64) -> [String] {
            switch self {
            case .ready:
                return ["READY=1"]
            case .reloading:
                return ["RELOADING=1", "MONOTONIC_USEC=\(monotonicMicroseconds)"]
            case .stopping:
                return ["STOPPING=1"]
            case .watchdog:
                return ["WATCHDOG=1"]
            case .status(let text):
                return ["STATUS=\(Self.singleLine(text))"]
            case .extendTimeout(let duration):
                return ["EXTEND_TIMEOUT_USEC=\(Self.microseconds(duration))"]
            }
        }

        /// The whole datagram for `states`, newline-separated, in order.
        static func message(for states: [State], monotonicMicroseconds: UInt64) -> String {
            states.flatMap { $0.lines(monotonicMicroseconds: monotonicMicroseconds) }.joined(separator: "\n")
        }

        /// Replaces line breaks and NUL (which would end the C string early) with spaces.
        static func singleLine(_ text: String) -> String {
            String(
                String.UnicodeScalarView(
                    text.unicodeScalars.map { scalar in
                        switch scalar {
                        case "\n", "\r", "\0", "\u{0B}", "\u{0C}", "\u{85}", "\u{2028}", "\u{2029}":
                            return " "
                        default:
                            return scalar
                        }
                    }
                )
            )
        }

        /// Whole microseconds of a non-negative duration, saturating at `UInt64.max - 1`
        /// (`UInt64.max` means "infinity" to systemd).
        static func microseconds(_ duration: Duration) -> UInt64 {
            let (seconds, attoseconds) = duration.components
            guard seconds >= 0 else { return 0 }
            let (wholeMicros, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000)
            if overflow { return UInt64.max - 1 }
            let (total, overflow2) = wholeMicros.addingReportingOverflow(UInt64(attoseconds / 1_000_000_000_000))
            return overflow2 || total == UInt64.max ? UInt64.max - 1 : total
        }
    }
}
