import Logging
import MillimetricRelay
import SystemdSupport
import Testing

@Suite
struct JournalLogHandlerTests {
    private func fields(
        _ level: Logger.Level, _ message: String = "delivery paused", _ metadata: Logger.Metadata = [:]
    ) -> [JournalField] {
        JournalLogHandler.fields(
            level: level, message: message, metadata: metadata, identifier: "millimetric-relay",
            file: "MillimetricRelay/Delivery/Drainer.swift", function: "handle(_:for:loop:)", line: 42)
    }

    private func value(_ name: String, in fields: [JournalField]) -> String? {
        let matching = fields.filter { $0.name.rawValue == name }
        #expect(matching.count <= 1, "field \(name) appears \(matching.count) times")
        return matching.first?.value
    }

    @Test(arguments: [
        (Logger.Level.trace, "7"), (.debug, "7"), (.info, "6"), (.notice, "5"),
        (.warning, "4"), (.error, "3"), (.critical, "2"),
    ])
    func eachLevelHasItsSyslogPriority(level: Logger.Level, priority: String) {
        #expect(value("PRIORITY", in: fields(level)) == priority)
    }

    @Test
    func theMessageHasNoTimestampAndEndsWithTheMetadata() {
        let entry = fields(.error, "delivery paused", ["upstream.reason": "HTTP 401", "delivery.events": "3"])
        #expect(value("MESSAGE", in: entry) == "delivery paused delivery.events=3 upstream.reason=HTTP 401")
        #expect(value("SYSLOG_IDENTIFIER", in: entry) == "millimetric-relay")
        #expect(entry.first?.name.rawValue == "MESSAGE")
    }

    @Test
    func metadataBecomesUpperCaseFields() {
        let entry = fields(.warning, "dead-lettered", ["upstream.reason": "HTTP 422", "event.id": "e-1", "outbox.events": "12"])
        #expect(value("UPSTREAM_REASON", in: entry) == "HTTP 422")
        #expect(value("EVENT_ID", in: entry) == "e-1")
        #expect(value("OUTBOX_EVENTS", in: entry) == "12")
    }

    @Test
    func theSourceLocationIsInTheCodeFields() {
        let entry = fields(.info)
        #expect(value("CODE_FILE", in: entry) == "MillimetricRelay/Delivery/Drainer.swift")
        #expect(value("CODE_LINE", in: entry) == "42")
        #expect(value("CODE_FUNC", in: entry) == "handle(_:for:loop:)")
    }

    @Test
    func aMessageIdBecomesMessageIDAndStaysOutOfTheText() {
        let entry = fields(.error, "delivery paused", [RelayMessageID.metadataKey: .messageID(RelayMessageID.deliveryPaused)])
        #expect(value("MESSAGE_ID", in: entry) == "af7073abc66b481dad0bc18ec423ce07")
        #expect(value("MESSAGE", in: entry) == "delivery paused")
    }

    @Test
    func anInvalidMessageIdIsKeptButNotSentAsMessageID() {
        let entry = fields(.info, "x", ["message_id": "not-an-id"])
        #expect(value("MESSAGE_ID", in: entry) == nil)
        #expect(value("RELAY_MESSAGE_ID", in: entry) == "not-an-id")
    }

    @Test
    func metadataCannotOverrideTheFieldsTheHandlerSets() {
        let entry = fields(.error, "real", ["priority": "7", "message": "fake", "syslog_identifier": "sshd", "_pid": "1"])
        #expect(value("PRIORITY", in: entry) == "3")
        #expect(value("MESSAGE", in: entry)?.hasPrefix("real ") == true)
        #expect(value("SYSLOG_IDENTIFIER", in: entry) == "millimetric-relay")
        #expect(value("RELAY_PRIORITY", in: entry) == "7")
        #expect(value("RELAY_MESSAGE", in: entry) == "fake")
        #expect(value("RELAY_SYSLOG_IDENTIFIER", in: entry) == "sshd")
        // "_pid" loses its underscore: a client cannot set the trusted _PID.
        #expect(value("PID", in: entry) == "1")
        #expect(!entry.contains { $0.name.rawValue.hasPrefix("_") })
    }

    @Test
    func theCatalogsIdsAreDistinctValidIds() {
        let ids = RelayMessageID.all.map(\.id)
        #expect(ids.count == 5)
        #expect(Set(ids).count == ids.count)
        for id in ids { #expect(id.hexDigits.utf8.count == 32) }
    }
}
