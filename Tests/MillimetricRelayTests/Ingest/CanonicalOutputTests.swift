import NIOCore
import Testing

@testable import MillimetricRelay

/// Pins the exact bytes the ingest path produces for a few varied lines: the stored body, the
/// ids, the warnings and the ack. Why: the validator and the ack writer are tuned for speed
/// (issue 16), and a faster path must give byte-identical output, or stored payloads and the
/// ids a producer matches its acks against would change under it.
@Suite struct CanonicalOutputTests {
    let stamp = Array("2026-11-23T10:00:00.000Z".utf8)

    /// One pinned case. (`duplicates` pairs its fields by shape with ImportSession.Settings:
    /// two unrelated records of strings.)
    struct Pinned {
        var line: String
        var body: String
        var eventID: String
        var userID: String?
        var ack: String
    }

    static let pinned: [Pinned] = [
        // A benchmark-shaped track event: a null user_id dropped, the rest reordered.
        Pinned(
            line: #"{"event":"page_viewed","event_id":"e-1","anonymous_id":"anon_1","user_id":null,"session_id":"s","timestamp":"2026-12-07T10:00:00.123Z","url":"https://shop.example.com/?utm_source=x&utm_medium=y","path":"/","properties":{"price":12.5,"currency":"EUR","logged_in":true}}"#,
            body: #"{"event":"page_viewed","event_id":"e-1","timestamp":"2026-12-07T10:00:00.123Z","anonymous_id":"anon_1","session_id":"s","url":"https://shop.example.com/?utm_source=x&utm_medium=y","path":"/","properties":{"price":12.5,"currency":"EUR","logged_in":true}}"#,
            eventID: "e-1", userID: nil, ack: #"{"ok":true,"event_id":"e-1"}"#),
        // Whitespace, escapes, numbers JavaScript prints otherwise, stripped keys in warnings.
        Pinned(
            line: #" { "properties" : { "a" : 1.50 , "b" : 1e3, "c" : -0, "d" : "\u00e9\/x", "e" : [ true , false , null ], "f" : 0.1e1, "g" : 12345678901234567890, "h" : "\u001f\b\t\ud83d\ude00\udc00" } , "event" : "e\u0301", "event_id" : "x1", "country" : "fr", "zzz" : 1, "zzz" : 2, "user_id" : "u\"1" } "#,
            body: #"{"event":"e\#u{0301}","event_id":"x1","timestamp":"2026-11-23T10:00:00.000Z","user_id":"u\"1","properties":{"a":1.5,"b":1000,"c":0,"d":"é/x","e":[true,false,null],"f":1,"g":12345678901234567000,"h":"\u001f\b\t😀\udc00"}}"#,
            eventID: "x1", userID: "u\"1",
            ack: #"{"ok":true,"event_id":"x1","warnings":["country: derived by the API, ignored","zzz: unknown field, ignored"]}"#),
        // Identify: the id outside the body, a track-only field warned about, traits kept.
        Pinned(
            line: #"{"type":"identify","anonymous_id":"a","user_id":"u","traits":{"plan":"pro","n":1E-7,"big":1e21},"event":"x","event_id":"id-\n7"}"#,
            body: #"{"anonymous_id":"a","user_id":"u","traits":{"plan":"pro","n":1e-7,"big":1e+21}}"#,
            eventID: "id-\n7", userID: "u",
            ack: #"{"ok":true,"event_id":"id-\n7","warnings":["event: not used by identify, ignored"]}"#),
        // Forget: only the user id in the body, its text decoded for the purge.
        Pinned(
            line: #"{"type":"forget","user_id":"u\u0000x","event_id":"f"}"#,
            body: #"{"user_id":"u\u0000x"}"#,
            eventID: "f", userID: "u\u{0}x", ack: #"{"ok":true,"event_id":"f"}"#),
    ]

    @Test(arguments: pinned) func theOutputOfALineIsByteIdentical(_ pinned: Pinned) throws {
        var line = pinned.line
        var validator = EventValidator()
        // Twice with the same validator: the second run reuses its working memory.
        for _ in 0..<2 {
            let event = try line.withUTF8 { validator.validate(UnsafeRawBufferPointer($0), receivedTimestamp: stamp) }.get()
            #expect(String(decoding: event.body, as: UTF8.self) == pinned.body)
            #expect(event.eventID == pinned.eventID)
            #expect(event.userID == pinned.userID)
            var buffer = ByteBufferAllocator().buffer(capacity: 64)
            AckEncoder.writeStored([event], at: 0, purged: nil, to: &buffer)
            #expect(buffer.readString(length: buffer.readableBytes) == pinned.ack + "\n")
        }
    }
}
