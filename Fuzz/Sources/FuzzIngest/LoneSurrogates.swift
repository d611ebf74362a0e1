/// Whether canonical JSON text holds a `\udxxx` escape that is not half of a pair.
///
/// `JSON.stringify` writes a lone surrogate that way and `JSON.parse` reads it, but Foundation's
/// `JSONSerialization` refuses it; the invariants use this to tell that case from a real defect.
enum LoneSurrogates {
    static func escaped(in text: [UInt8]) -> Bool {
        var index = 0
        while index + 6 <= text.count {
            if text[index] == 0x5C {
                if text[index + 1] == UInt8(ascii: "u"), let unit = hex4(text, index + 2), (0xD800...0xDFFF).contains(unit) {
                    if (0xD800...0xDBFF).contains(unit), index + 12 <= text.count, text[index + 6] == 0x5C,
                        text[index + 7] == UInt8(ascii: "u"), let low = hex4(text, index + 8), (0xDC00...0xDFFF).contains(low)
                    {
                        index += 12
                        continue
                    }
                    return true
                }
                index += 2  // any other escape, including "\\"
                continue
            }
            index += 1
        }
        return false
    }

    private static func hex4(_ text: [UInt8], _ start: Int) -> UInt16? {
        var value: UInt16 = 0
        for byte in text[start..<(start + 4)] {
            let digit: UInt16
            switch byte {
            case 0x30...0x39: digit = UInt16(byte - 0x30)
            case 0x41...0x46: digit = UInt16(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt16(byte - 0x61 + 10)
            default: return nil
            }
            value = value << 4 | digit
        }
        return value
    }
}
