import NIOCore

/// Every /v1 request in arrival order, for `GET /_admin/log`.
///
/// Tests read it to check what the relay actually sent: which event ids went in which request,
/// that a retry carried the same ids, that a forget came after its user's events.
struct RequestLog: Sendable {
    private var entries: [RequestLogEntry] = []

    /// Logs a request that has arrived and returns its sequence number (1, 2, …).
    mutating func begin(path: String, receivedMilliseconds: Int64, eventIDs: [String?], userIDs: [String?]) -> Int {
        let sequence = self.entries.count + 1
        self.entries.append(
            RequestLogEntry(
                sequence: sequence,
                path: path,
                receivedMilliseconds: receivedMilliseconds,
                eventIDs: eventIDs,
                userIDs: userIDs
            )
        )
        return sequence
    }

    /// Records the answer (status 0: dropped) of the request with this sequence number.
    mutating func finish(sequence: Int, status: Int, sentMilliseconds: Int64) {
        let index = sequence - 1
        guard self.entries.indices.contains(index) else { return }
        self.entries[index].status = status
        self.entries[index].sentMilliseconds = sentMilliseconds
    }

    /// One JSON line per answered request, in arrival order. Requests still waiting for their
    /// answer (under `latency_ms`) are left out until answered.
    func writeNDJSON(to buffer: inout ByteBuffer) {
        for entry in self.entries where entry.status != nil {
            entry.json.write(to: &buffer)
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
    }
}
