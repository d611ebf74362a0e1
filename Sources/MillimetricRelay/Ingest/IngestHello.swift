import FoundationEssentials

/// The optional first line of a socket connection, `{"type":"hello","lane":"backfill"}`:
/// it puts every later event of the connection in the outbox's backfill lane
/// (``OutboxLane``). This is how `millimetric-relay import` reaches the running daemon: its
/// lines take the same path as any producer's (validator, group commit, pipelined acks), and
/// only their place in the delivery queue differs. A daemon without lanes refuses the hello
/// with `invalid_payload` (an unknown `type`), so an importer learns at once that it cannot
/// import there.
enum IngestHello {
    /// What the first line asked for: nil when it is no hello (an ordinary event line).
    static func parse(_ line: UnsafeRawBufferPointer) -> Result<OutboxLane, IngestRejection>? {
        // Cheap test first: this runs on the first line of every connection.
        guard line.count < 256, Bytes.contains(line, #""hello""#) else { return nil }
        struct Line: Decodable {
            var type: String?
            var lane: String?
        }
        guard let decoded = try? JSONDecoder().decode(Line.self, from: Data(line)), decoded.type == "hello" else { return nil }
        guard let name = decoded.lane, let lane = OutboxLane(rawValue: name) else {
            return .failure(IngestRejection(code: .invalidPayload, message: "lane: must be \"live\" or \"backfill\" in a hello line such as {\"type\":\"hello\",\"lane\":\"backfill\"}"))
        }
        return .success(lane)
    }
}
