import Testing

@testable import MillimetricRelay

/// The canonical form must be byte for byte what `JSON.stringify(JSON.parse(x))` gives.
@Suite struct JSONTranscoderTests {
    func canonical(_ text: String) throws -> String {
        var text = text
        return try text.withUTF8 { utf8 throws(JSONSyntaxError) -> String in
            var parser = JSONTranscoder(bytes: UnsafeRawBufferPointer(utf8))
            var out = [UInt8]()
            _ = try parser.transcodeValue(into: &out)
            return String(decoding: out, as: UTF8.self)
        }
    }

    // Expected values are what node's JSON.stringify(JSON.parse(input)) prints.
    @Test(arguments: [
        ("1", "1"), ("-0", "0"), ("1.0", "1"), ("1.50", "1.5"), ("1e2", "100"), ("1E+2", "100"), ("1e21", "1e+21"),
        ("1e-7", "1e-7"), ("0.000001", "0.000001"), ("123456789012345678901", "123456789012345680000"),
        ("12345678901234567890123", "1.2345678901234568e+22"), ("1e400", "null"), ("-1.5e-10", "-1.5e-10"),
        ("0.1", "0.1"), ("5e-324", "5e-324"), ("1.7976931348623157e308", "1.7976931348623157e+308"), ("-0.0", "0"),
        ("100000000000000000000", "100000000000000000000"), ("2.5e1", "25"),
    ])
    func numbersAreWrittenAsJavaScriptPrintsThem(_ input: String, _ expected: String) throws {
        #expect(try canonical(input) == expected)
    }

    @Test(arguments: [
        ("0.00000123", "0.00000123"), ("0.000000123", "1.23e-7"), ("-0.5", "-0.5"), ("12.34", "12.34"),
        ("123456789012.345", "123456789012.345"), ("1234567890123.4567", "1234567890123.4568"),
        ("0.1000000000000001", "0.1000000000000001"), ("9007199254740.993", "9007199254740.992"),
    ])
    func decimalsTakeTheShortcutOnlyWhenJavaScriptPrintsThemAsWritten(_ input: String, _ expected: String) throws {
        #expect(try canonical(input) == expected)
    }

    /// The decimal shortcut against the full path (parse as a double, format as JavaScript
    /// does), for many random decimals around the shortcut's limits.
    @Test func theDecimalShortcutAgreesWithTheFullPath() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let integerDigits = Int.random(in: 0...9, using: &generator)
            var text = Bool.random(using: &generator) ? "-" : ""
            text += integerDigits == 0 ? "0" : String(Int.random(in: 1...9, using: &generator))
            for _ in 1..<max(integerDigits, 1) { text += String(Int.random(in: 0...9, using: &generator)) }
            text += "."
            let leadingZeros = integerDigits == 0 ? Int.random(in: 0...7, using: &generator) : 0
            text += String(repeating: "0", count: leadingZeros)
            for _ in 0..<Int.random(in: 1...10, using: &generator) { text += String(Int.random(in: 0...9, using: &generator)) }
            let expected = String(decoding: JavaScriptNumber.format(Double(text)!), as: UTF8.self)
            #expect(try canonical(text) == expected, "\(text)")
        }
    }

    /// The eight-bytes-at-a-time scan against a plain byte loop: every special byte at every
    /// offset of a word, and random text mixing them in.
    @Test func thePlainRunScanStopsWhereABytewiseScanStops() {
        func bytewise(_ bytes: [UInt8], from start: Int) -> Int {
            var index = start
            while index < bytes.count {
                let b = bytes[index]
                if b < 0x20 || b == 0x22 || b == 0x5C || b >= 0x80 { break }
                index += 1
            }
            return index
        }
        let specials: [UInt8] = [0x00, 0x01, 0x1F, 0x22, 0x5C, 0x80, 0xC3, 0xFF]
        let plain: [UInt8] = [0x20, 0x21, 0x23, 0x5B, 0x5D, 0x7F, 0x41, 0x7E]
        for length in 0..<40 {
            for position in 0...length {
                for special in specials {
                    var bytes = (0..<length).map { plain[$0 % plain.count] }
                    if position < length { bytes[position] = special }
                    for start in [0, 1, 3].filter({ $0 <= length }) {
                        let fast = bytes.withUnsafeBytes { JSONTranscoder.endOfPlainRun(in: $0, from: start) }
                        #expect(fast == bytewise(bytes, from: start), "\(bytes) from \(start)")
                    }
                }
            }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let bytes = (0..<Int.random(in: 0..<64, using: &generator)).map { _ in
                Int.random(in: 0..<10, using: &generator) == 0 ? specials.randomElement(using: &generator)! : UInt8.random(in: 0x20...0x7E, using: &generator)
            }
            let fast = bytes.withUnsafeBytes { JSONTranscoder.endOfPlainRun(in: $0, from: 0) }
            #expect(fast == bytewise(bytes, from: 0), "\(bytes)")
        }
    }

    @Test func stringsUseJSONStringifyEscaping() throws {
        #expect(try canonical(#""a\/b""#) == #""a/b""#)
        #expect(try canonical(#""\u00e9\u20ac""#) == "\"é€\"")
        #expect(try canonical(#""\ud83d\ude00""#) == "\"😀\"")
        #expect(try canonical(#""\ud800x""#) == #""\ud800x""#)
        #expect(try canonical(#""\u0001\u001F\b\f\n\r\t\"\\""#) == #""\u0001\u001f\b\f\n\r\t\"\\""#)
        #expect(try canonical(#""\u2028""#) == "\"\u{2028}\"")
    }

    @Test func whitespaceIsRemovedOutsideStrings() throws {
        #expect(try canonical(" { \"a\" : [ 1 , { } , [ ] , true , false , null ] } ") == #"{"a":[1,{},[],true,false,null]}"#)
    }
}
