/// Formats a Double exactly as JavaScript's `Number.prototype.toString()` does
/// (ECMA-262 Number::toString), which is how `JSON.stringify` writes numbers.
///
/// Swift's `description` already yields the shortest digits that round-trip, as JavaScript
/// requires; only the layout differs (`100.0` vs `100`, `1e-07` vs `1e-7`).
enum JavaScriptNumber {
    static func format(_ value: Double) -> [UInt8] {
        guard value.isFinite else { return Array("null".utf8) }  // JSON.stringify(Infinity) is "null"
        if value == 0 { return [UInt8(ascii: "0")] }  // also -0
        var description = Array(value.magnitude.description.utf8)
        var exponent = 0
        if let e = description.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            exponent = Int(String(decoding: description[(e + 1)...], as: UTF8.self)) ?? 0
            description.removeSubrange(e...)
        }
        let point = description.firstIndex(of: UInt8(ascii: ".")) ?? description.count
        var digits = description.filter { $0 != UInt8(ascii: ".") }
        // value = 0.digits × 10^n
        var n = point + exponent
        while let first = digits.first, first == UInt8(ascii: "0") {
            digits.removeFirst()
            n -= 1
        }
        while let last = digits.last, last == UInt8(ascii: "0") { digits.removeLast() }
        let k = digits.count
        var out: [UInt8] = value < 0 ? [UInt8(ascii: "-")] : []
        if k <= n && n <= 21 {
            out += digits
            out += [UInt8](repeating: UInt8(ascii: "0"), count: n - k)
        } else if 0 < n && n <= 21 {
            out += digits[0..<n]
            out.append(UInt8(ascii: "."))
            out += digits[n...]
        } else if -6 < n && n <= 0 {
            out += Array("0.".utf8)
            out += [UInt8](repeating: UInt8(ascii: "0"), count: -n)
            out += digits
        } else {
            let e = n - 1
            out.append(digits[0])
            if k > 1 {
                out.append(UInt8(ascii: "."))
                out += digits[1...]
            }
            out.append(UInt8(ascii: "e"))
            out.append(e >= 0 ? UInt8(ascii: "+") : UInt8(ascii: "-"))
            out += Array(String(e.magnitude).utf8)
        }
        return out
    }
}
