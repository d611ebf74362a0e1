import Glibc
import Testing

@testable import SystemdSupport

@Suite
struct JournalFieldNameTests {
    @Test(arguments: [
        ("upstream.reason", "UPSTREAM_REASON"),
        ("event.id", "EVENT_ID"),
        ("outbox.events", "OUTBOX_EVENTS"),
        ("delivery.retry_in_ms", "DELIVERY_RETRY_IN_MS"),
        ("peer-uid", "PEER_UID"),
        ("ALREADY_OK", "ALREADY_OK"),
        ("x9", "X9"),
    ])
    func dottedMetadataKeysBecomeUpperCaseFieldNames(key: String, expected: String) {
        #expect(JournalFieldName(sanitizing: key)?.rawValue == expected)
    }

    @Test
    func leadingUnderscoresAreDroppedSoATrustedFieldCannotBeForged() {
        // _PID, _UID, _SYSTEMD_UNIT are set by journald itself; a client must not spoof them.
        #expect(JournalFieldName(sanitizing: "_pid")?.rawValue == "PID")
        #expect(JournalFieldName(sanitizing: "__systemd_unit")?.rawValue == "SYSTEMD_UNIT")
        #expect(JournalFieldName(sanitizing: "._uid")?.rawValue == "UID")
    }

    @Test
    func leadingDigitsAreDroppedAndAKeyWithoutLettersHasNoName() {
        #expect(JournalFieldName(sanitizing: "2fa.method")?.rawValue == "FA_METHOD")
        #expect(JournalFieldName(sanitizing: "123") == nil)
        #expect(JournalFieldName(sanitizing: "") == nil)
        #expect(JournalFieldName(sanitizing: "...") == nil)
    }

    @Test
    func nonASCIICharactersBecomeOneUnderscoreEach() {
        #expect(JournalFieldName(sanitizing: "café.size")?.rawValue == "CAF__SIZE")
        #expect(JournalFieldName(sanitizing: "naïve")?.rawValue == "NA_VE")
    }

    @Test
    func namesAreCutToJournaldsLimitOf64Characters() throws {
        let name = try #require(JournalFieldName(sanitizing: String(repeating: "a", count: 100)))
        #expect(name.rawValue == String(repeating: "A", count: 64))
    }
}

@Suite
struct JournalMessageIDTests {
    @Test
    func thirtyTwoHexDigitsAreAnIdStoredLowerCase() throws {
        let id = try #require(JournalMessageID("AF7073ABC66B481DAD0BC18EC423CE07"))
        #expect(id.hexDigits == "af7073abc66b481dad0bc18ec423ce07")
        #expect("\(id)" == "af7073abc66b481dad0bc18ec423ce07")
    }

    @Test(arguments: ["", "af7073abc66b481dad0bc18ec423ce0", "af7073abc66b481dad0bc18ec423ce077",
                      "af7073ab-c66b-481d-ad0b-c18ec423ce07", "zf7073abc66b481dad0bc18ec423ce07"])
    func anythingElseIsNotAnId(text: String) {
        #expect(JournalMessageID(text) == nil)
    }
}

@Suite
struct JournalStreamTests {
    @Test
    func parsesDeviceColonInode() {
        #expect(JournalStream(environmentValue: "8:12345") == JournalStream(device: 8, inode: 12345))
        #expect(JournalStream(environmentValue: "8:") == nil)
        #expect(JournalStream(environmentValue: "8") == nil)
        #expect(JournalStream(environmentValue: "a:1") == nil)
        #expect(JournalStream(environmentValue: "1:2:3") == nil)
    }

    @Test
    func stderrIsTheJournalOnlyWhenItsDeviceAndInodeMatch() throws {
        let stderrIdentity = try #require(JournalStream(descriptor: STDERR_FILENO))
        let announced = "\(stderrIdentity.device):\(stderrIdentity.inode)"
        #expect(JournalStream.isStandardErrorJournal(environment: ["JOURNAL_STREAM": announced]))
        // Inherited from a parent whose stderr was the journal, while ours goes elsewhere.
        let other = "\(stderrIdentity.device):\(stderrIdentity.inode &+ 1)"
        #expect(!JournalStream.isStandardErrorJournal(environment: ["JOURNAL_STREAM": other]))
        #expect(!JournalStream.isStandardErrorJournal(environment: [:]))
        #expect(!JournalStream.isStandardErrorJournal(environment: ["JOURNAL_STREAM": "garbage"]))
    }
}
