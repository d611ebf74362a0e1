/// Parses the human forms config values come in: sizes (`1GiB`), durations (`250ms`), `host:port`.
enum ValueParsing {
    /// `1024`, `64KiB`, `1GiB`, `500MB`, `10k`: binary multiples for every suffix, as operators
    /// usually mean them for disk caps.
    static func bytes(_ text: String) -> Int64? {
        let trimmed = text.trimmingWhitespace().lowercased()
        let digits = trimmed.prefix { $0.isNumber }
        guard let number = Int64(digits) else { return nil }
        let suffix = trimmed.dropFirst(digits.count).trimmingCharactersSpace()
        let multiplier: Int64
        switch suffix {
        case "", "b": multiplier = 1
        case "k", "kb", "kib": multiplier = 1 << 10
        case "m", "mb", "mib": multiplier = 1 << 20
        case "g", "gb", "gib": multiplier = 1 << 30
        case "t", "tb", "tib": multiplier = 1 << 40
        default: return nil
        }
        let (result, overflow) = number.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : result
    }

    /// `1s`, `250ms`, `1.5s`, `2m`, or a bare number of seconds.
    static func duration(_ text: String) -> Duration? {
        let trimmed = text.trimmingWhitespace().lowercased()
        let number = trimmed.prefix { $0.isNumber || $0 == "." }
        guard let value = Double(number), value.isFinite, value >= 0 else { return nil }
        let millisecondsPerUnit: Double
        switch trimmed.dropFirst(number.count).trimmingCharactersSpace() {
        case "", "s": millisecondsPerUnit = 1000
        case "ms": millisecondsPerUnit = 1
        case "m", "min": millisecondsPerUnit = 60_000
        default: return nil
        }
        // Int64(_:) traps on a Double past Int64.max: a value that long is refused instead.
        let milliseconds = (value * millisecondsPerUnit).rounded()
        guard milliseconds <= maximumDurationMilliseconds else { return nil }
        return .milliseconds(Int64(milliseconds))
    }

    /// 2⁵³ ms (285,000 years): every whole number of milliseconds up to it is exact in a Double.
    static let maximumDurationMilliseconds: Double = 9_007_199_254_740_992

    /// `127.0.0.1:9464` or `[::1]:9464`.
    static func hostPort(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon])
        // By scalars, not Characters: "[" followed by a combining mark is one Character that is
        // not "[", so a bracketed host printed back would not parse to itself (fuzz finding).
        let scalars = host.unicodeScalars
        if scalars.first == "[" && scalars.last == "]" {
            host = String(String.UnicodeScalarView(scalars.dropFirst().dropLast()))
        }
        return (host, port)
    }
}

extension Substring {
    fileprivate func trimmingCharactersSpace() -> String { String(self).trimmingWhitespace() }
}
