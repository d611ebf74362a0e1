import RelayTestKit

extension RelayProcess {
    /// Stops the relay with SIGTERM and reads the counters it logs when it stops.
    @discardableResult
    public func stop() throws(TestKitError) -> OutboxCounters? {
        let status = terminate(timeout: .seconds(60))
        guard status == 0 else {
            throw TestKitError("the relay exited with status \(status) on SIGTERM:\n\(outputTail())")
        }
        return OutboxCounters(log: output(ofGeneration: generation))
    }

    /// Group commits and inserted rows since start, from the relay's `stopped` log line
    /// (`outbox.commits=N outbox.inserted=M`): M/N is its average transaction size.
    public struct OutboxCounters: Sendable, Equatable {
        public var commits: Int
        public var inserted: Int

        public var averageTransactionSize: Double { commits > 0 ? Double(inserted) / Double(commits) : 0 }

        /// Nil when the log has no such line (a relay built before the counters existed).
        public init?(log: String) {
            guard let line = log.split(separator: "\n").last(where: { $0.contains("outbox.commits=") }),
                let commits = Self.value("outbox.commits", in: line),
                let inserted = Self.value("outbox.inserted", in: line)
            else { return nil }
            self.commits = commits
            self.inserted = inserted
        }

        private static func value(_ key: String, in line: Substring) -> Int? {
            guard let range = line.range(of: key + "=") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
    }
}
