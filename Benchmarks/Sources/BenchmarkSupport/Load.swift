import RelayTestKit

/// Drives the relay with several ``PipelinedConnection``s at once.
public enum Load {
    /// Writes each batch on its own connection, all starting together once every connection is
    /// up; the events were generated before, so the clock measures the relay, not the generator.
    public static func run(
        socketPath: String, batches: [EventBatch], halfClose: Bool = false, timeout: Double = 170
    ) throws(TestKitError) -> LoadSummary {
        var connections: [PipelinedConnection] = []
        for batch in batches {
            connections.append(
                try PipelinedConnection(path: socketPath, source: .pregenerated(batch), halfClose: halfClose))
        }
        for connection in connections { connection.go() }
        return LoadSummary(connections.map { $0.wait(timeout: timeout) })
    }

    /// Fills the outbox with `events` events over `connections` connections, generated on the
    /// fly in chunks of `chunkEvents`; every event must be acked.
    public static func prefill(
        socketPath: String, generator: EventGenerator, events: Int, connections: Int, chunkEvents: Int = 5_000,
        halfClose: Bool = false, timeout: Double = 170
    ) throws(TestKitError) -> LoadSummary {
        var open: [PipelinedConnection] = []
        for client in 0..<connections {
            // Client c writes events [c·n/k, (c+1)·n/k) of the backlog, in chunks.
            let first = events * client / connections
            let end = events * (client + 1) / connections
            let chunks = (end - first + chunkEvents - 1) / chunkEvents
            let source = EventSource.generated(chunks: chunks, events: end - first) { index in
                let start = first + index * chunkEvents
                return generator.batch(client: client, sequence: start..<min(end, start + chunkEvents))
            }
            open.append(try PipelinedConnection(path: socketPath, source: source, halfClose: halfClose))
        }
        for connection in open { connection.go() }
        let summary = LoadSummary(open.map { $0.wait(timeout: timeout) })
        try summary.requireAllAcked(expected: events)
        return summary
    }
}
