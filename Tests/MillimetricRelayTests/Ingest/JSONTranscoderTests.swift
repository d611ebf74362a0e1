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
