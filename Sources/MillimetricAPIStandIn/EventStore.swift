import NIOCore

/// The events the stand-in accepted, unique by `event_id`, in arrival order.
///
/// This is the API's idempotency as the relay relies on it: a repeated `event_id` is counted as
/// a duplicate and not stored again. Deleted records (by `/v1/forget`) leave a hole that is
/// compacted away once holes are the majority, so memory follows what is stored, not what was.
struct EventStore: Sendable {
    private var records: [StoredRecord?] = []
    private var storedEventIDs: Set<String> = []
    private var holes = 0

    /// How many track events are stored.
    private(set) var eventCount = 0

    /// Stores a track event. Returns false, storing nothing, if its `event_id` is already stored.
    mutating func insertEvent(eventID: String?, userID: String?, line: [UInt8]) -> Bool {
        if let eventID {
            guard self.storedEventIDs.insert(eventID).inserted else { return false }
        }
        self.records.append(StoredRecord(kind: .event, eventID: eventID, userID: userID, line: line))
        self.eventCount += 1
        return true
    }

    /// Stores an identify or forget body.
    mutating func append(_ record: StoredRecord) {
        self.records.append(record)
    }

    /// Deletes the track events and identify records of `userID`, as the API's forget does,
    /// and returns how many it deleted. Their event ids become unknown again: an event sent again
    /// after its user was forgotten is stored again, which is what a test of forget ordering
    /// needs to see.
    mutating func deleteUser(_ userID: String) -> Int {
        var deleted = 0
        for index in self.records.indices {
            guard let record = self.records[index], record.userID == userID, record.kind != .forget else { continue }
            if let eventID = record.eventID {
                self.storedEventIDs.remove(eventID)
            }
            if record.kind == .event {
                self.eventCount -= 1
            }
            self.records[index] = nil
            deleted += 1
        }
        self.holes += deleted
        if self.holes > 1_024, self.holes * 2 > self.records.count {
            self.records = self.records.filter { $0 != nil }
            self.holes = 0
        }
        return deleted
    }

    /// Every stored record, one JSON line each, in arrival order.
    func writeNDJSON(to buffer: inout ByteBuffer) {
        for case let record? in self.records {
            buffer.writeBytes(record.line)
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
    }

    /// Total bytes of the stored lines, to size the dump's buffer up front.
    var byteCount: Int {
        self.records.reduce(0) { $0 + ($1.map { $0.line.count + 1 } ?? 0) }
    }
}
