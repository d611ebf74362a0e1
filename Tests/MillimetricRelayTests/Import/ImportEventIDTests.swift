import Testing

@testable import MillimetricRelay

/// The pieces of `import`'s deterministic ids: SHA-1 against the FIPS 180 examples, UUID v5
/// against RFC 9562's, and which lines get an id and how it is written into them.
@Suite struct ImportEventIDTests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() }

    @Test func sha1MatchesTheStandardExamples() {
        #expect(Self.hex(SHA1.hash([])) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(Self.hex(SHA1.hash(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(Self.hex(SHA1.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        // A million "a" fed in uneven pieces, and a digest taken midway that does not disturb it.
        var sha = SHA1()
        var fed = 0
        var piece = 1
        while fed < 1_000_000 {
            let count = min(piece, 1_000_000 - fed)
            sha.update([UInt8](repeating: UInt8(ascii: "a"), count: count))
            fed += count
            piece = piece * 7 % 1_000 + 1
            if fed == 3 || (fed > 500_000 && fed < 500_010) { _ = sha.finish() }
        }
        #expect(Self.hex(sha.finish()) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test func uuid5MatchesTheRFCExample() {
        // RFC 9562 appendix A.4: "www.example.com" in the DNS namespace.
        let dns: [UInt8] = [0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8]
        #expect(ImportEventID.uuid5(namespace: dns, name: Array("www.example.com".utf8)) == "2ed6657d-e927-568b-95e1-2665a8aea6a2")
    }

    @Test func idsStayThoseOfEarlierVersions() {
        // Pinned with an independent implementation (Python's hashlib and uuid, 2026-12-07) and
        // checked against the importer as released before SHA-1 held its state inline: a
        // re-run after an upgrade must give every line the id it had, or the API counts twice.
        let lines = [
            #"{"event":"a"}"#,
            #"{"event":"long","properties":{"text":""# + String(repeating: "x", count: 150) + #""}}"#,
            #"{"event":"c","user_id":"u1"}"#,
        ]
        let pinned = ["7323e229-4ba3-50f5-b95b-ead925360ed3", "ae4c11fc-7eca-5ae7-ad64-399090e56eb3", "114021f6-66fc-57a7-b7df-70f282f5162c"]
        var sha = SHA1()
        for (index, line) in lines.enumerated() {
            sha.update(Array(line.utf8) + [0x0A])
            #expect(ImportEventID.make(digest: sha.finish(), line: index + 1) == pinned[index])
            #expect(sha.digest().bytes == sha.finish())
            // What the importer sends: the line with that id appended, built without a String.
            var stamped: [UInt8] = []
            Array(line.utf8).withUnsafeBytes { ImportEventID.appendStamped($0, digest: sha.digest(), line: index + 1, to: &stamped) }
            #expect(String(decoding: stamped, as: UTF8.self) == String(line.dropLast()) + #","event_id":""# + pinned[index] + #""}"#)
        }
    }

    @Test func onlyTrackLinesWithoutAnIDGetOne() {
        func needs(_ line: String) -> Bool { Array(line.utf8).withUnsafeBytes { ImportEventID.needsID($0) } }
        #expect(needs(#"{"event":"a"}"#))
        #expect(needs(#"{"event":"a","event_id":null}"#))
        #expect(needs(#"{"type":"track","event":"a","properties":{"event_id":"inner"}}"#))
        #expect(needs(#" {}"#))
        #expect(!needs(#"{"event":"a","event_id":"mine"}"#))
        #expect(!needs(#"{"type":"identify","anonymous_id":"x","user_id":"y"}"#))
        #expect(!needs(#"{"type":"forget","user_id":"y"}"#))
        #expect(!needs(#"not json"#))
        #expect(!needs(#"{"type":"track" oops"#))
        #expect(!needs(#"[1,2]"#))
        #expect(!needs(#"{"event":"a","event\u005fid":"escaped"}"#))
    }

    /// The quick scan for `"event_id"` and `"type"` reads sixteen bytes at a time: the keys are
    /// found at every offset, across those blocks and in the short tail after them.
    @Test func theKeysAreFoundAtEveryOffsetOfALongLine() {
        func needs(_ line: String) -> Bool { Array(line.utf8).withUnsafeBytes { ImportEventID.needsID($0) } }
        for offset in 0..<48 {
            let pad = String(repeating: " ", count: offset)
            #expect(!needs("{" + pad + #""type":"identify","anonymous_id":"x","user_id":"y"}"#), "offset \(offset)")
            #expect(!needs(#"{"event":"a","user_id":"u","#  + pad + #""type":"identify"}"#), "offset \(offset)")
            #expect(!needs(#"{"event":"a","user_id":"u","#  + pad + #""event_id":"mine"}"#), "offset \(offset)")
            #expect(!needs(#"{"event":"a","user_id":"u","#  + pad + #""event_id":"m"}"#), "offset \(offset)")
            #expect(needs(#"{"event":"a","user_id":"u","#  + pad + #""types":"x","event_idx":"y","et":"t"}"#), "offset \(offset)")
        }
    }

    @Test func theIDIsWrittenAsTheLastMember() {
        func stamp(_ line: String) -> String {
            String(decoding: Array(line.utf8).withUnsafeBytes { ImportEventID.stamp($0, id: "ID") }, as: UTF8.self)
        }
        #expect(stamp(#"{"event":"a"}"#) == #"{"event":"a","event_id":"ID"}"#)
        #expect(stamp(#"{ }"#) == #"{ "event_id":"ID"}"#)
        #expect(stamp(#"{"event":"a","event_id":null} "#) == #"{"event":"a","event_id":null,"event_id":"ID"} "#)
    }
}
