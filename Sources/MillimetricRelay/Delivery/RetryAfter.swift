import FoundationEssentials

/// Parses the value of a `Retry-After` response header (RFC 9110 §10.2.3) into how long to
/// wait, so the drainer can honour a 429 (SPEC §6: "wait at least Retry-After (seconds or
/// HTTP date)").
///
/// Accepts delta-seconds (`120`) and an HTTP-date in all three forms RFC 9110 §5.6.7 tells
/// recipients to accept: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the obsolete RFC 850
/// form (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`).
/// Parsing is by hand, with no `DateFormatter`, so it does not depend on locale or time zone.
///
/// The result is at most ``largestDelay`` in either form; a caller that must not wait for days
/// still applies its own, shorter limit.
public enum RetryAfter {
    /// The longest wait either form yields: what RFC 9111 §1.2.2 says to use for delta-seconds
    /// too large to represent, 2³¹ seconds; a date further ahead waits that long too.
    public static let largestDelay: Duration = .seconds(2_147_483_648)

    /// How long `value` says to wait, measured from `now`.
    ///
    /// Surrounding spaces and tabs are ignored. A date in the past gives `.zero`. Returns nil
    /// for anything that is neither delta-seconds nor an HTTP-date (negative or fractional
    /// numbers included), so the caller can fall back to its own backoff.
    public static func delay(from value: String, now: Date) -> Duration? {
        var bytes = Array(value.utf8)[...]
        while let first = bytes.first, first == 0x20 || first == 0x09 { bytes.removeFirst() }
        while let last = bytes.last, last == 0x20 || last == 0x09 { bytes.removeLast() }
        guard !bytes.isEmpty else { return nil }

        if bytes.allSatisfy(Self.isDigit) {
            return deltaSeconds(bytes)
        }
        var scanner = HTTPDateScanner(bytes, now: now)
        guard let date = scanner.parse() else { return nil }
        let seconds = date - now.timeIntervalSince1970
        return seconds > 0 ? min(.seconds(seconds), largestDelay) : .zero
    }

    private static func deltaSeconds(_ digits: ArraySlice<UInt8>) -> Duration {
        var seconds: Int64 = 0
        for digit in digits {
            seconds = seconds * 10 + Int64(digit - 0x30)
            if seconds >= 2_147_483_648 { return largestDelay }
        }
        return .seconds(seconds)
    }

    fileprivate static func isDigit(_ byte: UInt8) -> Bool {
        byte >= 0x30 && byte <= 0x39
    }
}

extension RetryAfter {
    /// A small cursor over the bytes of an HTTP-date; yields seconds since 1970 (UTC).
    private struct HTTPDateScanner {
        private var bytes: ArraySlice<UInt8>
        private let now: Date

        private static let dayNames = [
            "mon", "tue", "wed", "thu", "fri", "sat", "sun",
            "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
        ]
        private static let monthNames = [
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ]

        init(_ bytes: ArraySlice<UInt8>, now: Date) {
            self.bytes = bytes
            self.now = now
        }

        mutating func parse() -> Double? {
            guard let dayName = word(), Self.dayNames.contains(dayName) else { return nil }
            if take(","), take(" ") {
                return dayName.count == 3 ? imfFixdate() : rfc850Date()
            }
            if dayName.count == 3, take(" ") {
                return asctimeDate()
            }
            return nil
        }

        /// `06 Nov 1994 08:49:37 GMT`, after `Sun, `.
        private mutating func imfFixdate() -> Double? {
            guard let date = dayMonthYearTime(separator: " ", yearDigits: 4) else { return nil }
            return Self.secondsSince1970(year: date.year, month: date.month, day: date.day, time: date.time)
        }

        /// `06-Nov-94 08:49:37 GMT`, after `Sunday, `.
        private mutating func rfc850Date() -> Double? {
            guard let date = dayMonthYearTime(separator: "-", yearDigits: 2) else { return nil }
            // RFC 9110 §5.6.7: a year more than 50 years in the future is the most recent past
            // year with the same last two digits; so the year is the one with those digits in
            // the century ending 50 years from now (from 2050 on, that can be the next century).
            let currentYear = Self.civilYear(secondsSince1970: now.timeIntervalSince1970)
            var year = currentYear - currentYear % 100 + date.year
            if year > currentYear + 50 {
                year -= 100
            } else if year <= currentYear - 50 {
                year += 100
            }
            return Self.secondsSince1970(year: year, month: date.month, day: date.day, time: date.time)
        }

        /// The rest of both formats above: day, month and year joined by `separator`, then the
        /// time of day and `GMT`, and nothing after.
        private mutating func dayMonthYearTime(separator: String, yearDigits: Int) -> (day: Int, month: Int, year: Int, time: Int)? {
            guard let day = number(digits: 2), take(separator),
                let month = month(), take(separator),
                let year = number(digits: yearDigits), take(" "),
                let time = timeOfDay(), take(" "),
                take("GMT"), bytes.isEmpty
            else { return nil }
            return (day, month, year, time)
        }

        /// `Nov  6 08:49:37 1994`, after `Sun `.
        private mutating func asctimeDate() -> Double? {
            guard let month = month(), take(" ") else { return nil }
            let day: Int?
            if take(" ") {
                day = number(digits: 1)
            } else {
                day = number(digits: 2)
            }
            guard let day, take(" "),
                let time = timeOfDay(), take(" "),
                let year = number(digits: 4), bytes.isEmpty
            else { return nil }
            return Self.secondsSince1970(year: year, month: month, day: day, time: time)
        }

        /// `08:49:37` as seconds into the day; allows a leap second (`:60`).
        private mutating func timeOfDay() -> Int? {
            guard let hour = number(digits: 2), hour <= 23, take(":"),
                let minute = number(digits: 2), minute <= 59, take(":"),
                let second = number(digits: 2), second <= 60
            else { return nil }
            return hour * 3600 + minute * 60 + second
        }

        /// A month name, as 1...12.
        private mutating func month() -> Int? {
            guard let name = word(), let index = Self.monthNames.firstIndex(of: name) else { return nil }
            return index + 1
        }

        /// The ASCII letters at the cursor, lower-cased; nil if there are none.
        private mutating func word() -> String? {
            let letters = bytes.prefix { ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A }
            guard !letters.isEmpty else { return nil }
            bytes.removeFirst(letters.count)
            return String(decoding: letters.map { $0 | 0x20 }, as: UTF8.self)
        }

        /// Exactly `digits` decimal digits.
        private mutating func number(digits: Int) -> Int? {
            let prefix = bytes.prefix(digits)
            guard prefix.count == digits, prefix.allSatisfy(RetryAfter.isDigit) else { return nil }
            bytes.removeFirst(digits)
            return prefix.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        }

        /// Consumes `literal` (matched exactly) if it is next.
        private mutating func take(_ literal: String) -> Bool {
            guard bytes.starts(with: literal.utf8) else { return false }
            bytes.removeFirst(literal.utf8.count)
            return true
        }

        private static func secondsSince1970(year: Int, month: Int, day: Int, time: Int) -> Double? {
            guard day >= 1, day <= daysIn(month: month, year: year) else { return nil }
            return Double(daysSince1970(year: year, month: month, day: day) * 86_400 + time)
        }

        private static func daysIn(month: Int, year: Int) -> Int {
            switch month {
            case 2:
                let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
                return leap ? 29 : 28
            case 4, 6, 9, 11:
                return 30
            default:
                return 31
            }
        }

        /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil).
        private static func daysSince1970(year: Int, month: Int, day: Int) -> Int {
            let y = month <= 2 ? year - 1 : year
            let era = (y >= 0 ? y : y - 399) / 400
            let yearOfEra = y - era * 400
            let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
            let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
            return era * 146_097 + dayOfEra - 719_468
        }

        /// The UTC calendar year of an instant (Howard Hinnant's civil_from_days).
        private static func civilYear(secondsSince1970: Double) -> Int {
            let days = Int((secondsSince1970 / 86_400).rounded(.down)) + 719_468
            let era = (days >= 0 ? days : days - 146_096) / 146_097
            let dayOfEra = days - era * 146_097
            let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
            let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
            let monthIndex = (5 * dayOfYear + 2) / 153
            let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
            return yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        }
    }
}
