/// Decides whether a `timestamp` is a date the API accepts.
///
/// The API is a JavaScript Worker that keeps a timestamp when `new Date(value)` is valid. This
/// accepts the ECMAScript date-time string format (an ISO 8601 profile): `YYYY`, `YYYY-MM` or
/// `YYYY-MM-DD` (or a signed six-digit year), optionally followed by `THH:mm`, `:ss`, a fraction
/// and `Z` or `±HH:mm`. Calendar ranges are checked (no 2026-02-30). It is a little lenient where
/// engines are (lower-case `t`/`z`, a space for `T`, `±HHmm`), and strict where they are not.
enum ISO8601Timestamp {
    static func isValid(_ text: String) -> Bool {
        var scanner = Scanner(bytes: Array(text.utf8))
        return scanner.scanTimestamp()
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        var atEnd: Bool { self.index == self.bytes.count }

        mutating func scanTimestamp() -> Bool {
            guard let year = self.scanYear() else { return false }
            var month = 1
            if self.take(UInt8(ascii: "-")) {
                guard let value = self.digits(2), (1...12).contains(value) else { return false }
                month = value
                if self.take(UInt8(ascii: "-")) {
                    guard let day = self.digits(2), day >= 1, day <= Self.daysIn(month: month, year: year) else {
                        return false
                    }
                }
            }
            if self.atEnd { return true }
            guard self.take(UInt8(ascii: "T")) || self.take(UInt8(ascii: "t")) || self.take(UInt8(ascii: " ")) else {
                return false
            }
            guard self.scanTime() else { return false }
            if self.atEnd { return true }
            return self.scanOffset() && self.atEnd
        }

        private mutating func scanYear() -> Int? {
            if self.take(UInt8(ascii: "+")) {
                return self.digits(6)
            }
            if self.take(UInt8(ascii: "-")) {
                guard let year = self.digits(6), year != 0 else { return nil }
                return -year
            }
            return self.digits(4)
        }

        private mutating func scanTime() -> Bool {
            guard let hour = self.digits(2), hour <= 24, self.take(UInt8(ascii: ":")),
                let minute = self.digits(2), minute <= 59
            else { return false }
            var second = 0
            var fractionIsZero = true
            if self.take(UInt8(ascii: ":")) {
                guard let value = self.digits(2), value <= 59 else { return false }
                second = value
                if self.take(UInt8(ascii: ".")) {
                    let start = self.index
                    while !self.atEnd, Self.isDigit(self.bytes[self.index]) {
                        if self.bytes[self.index] != UInt8(ascii: "0") { fractionIsZero = false }
                        self.index += 1
                    }
                    guard self.index > start, self.index - start <= 9 else { return false }
                }
            }
            // 24:00 is allowed only as the end of a day.
            return hour < 24 || (minute == 0 && second == 0 && fractionIsZero)
        }

        private mutating func scanOffset() -> Bool {
            if self.take(UInt8(ascii: "Z")) || self.take(UInt8(ascii: "z")) { return true }
            guard self.take(UInt8(ascii: "+")) || self.take(UInt8(ascii: "-")) else { return false }
            guard let hours = self.digits(2), hours <= 23 else { return false }
            _ = self.take(UInt8(ascii: ":"))
            guard let minutes = self.digits(2), minutes <= 59 else { return false }
            return true
        }

        private mutating func take(_ byte: UInt8) -> Bool {
            guard !self.atEnd, self.bytes[self.index] == byte else { return false }
            self.index += 1
            return true
        }

        private mutating func digits(_ count: Int) -> Int? {
            guard self.index + count <= self.bytes.count else { return nil }
            var value = 0
            for byte in self.bytes[self.index..<(self.index + count)] {
                guard Self.isDigit(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            self.index += count
            return value
        }

        private static func isDigit(_ byte: UInt8) -> Bool {
            byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
        }

        private static func daysIn(month: Int, year: Int) -> Int {
            switch month {
            case 2:
                let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
                return leap ? 29 : 28
            case 4, 6, 9, 11:
                return 30
            default:
                return 31
            }
        }
    }
}
