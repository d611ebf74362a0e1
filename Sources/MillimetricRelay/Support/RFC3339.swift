/// RFC 3339 date-times, as the API's JavaScript `Date` parses them reliably.
///
/// Only the strict profile is accepted (`2026-11-22T10:00:00Z`, `2026-11-22T10:00:00.123+01:00`):
/// upper-case `T` and `Z`, a numeric offset with a colon, a real calendar date. Anything looser
/// (a space separator, a missing offset, `24:00`) parses differently across JavaScript engines,
/// so the relay refuses it rather than let the API guess.
enum RFC3339 {
    /// Whether `bytes` is a strict RFC 3339 date-time.
    static func isValid(_ b: UnsafeRawBufferPointer) -> Bool {
        // yyyy-mm-ddThh:mm:ss = 19 bytes, then optional fraction, then Z or ±hh:mm.
        guard b.count >= 20 else { return false }
        func digits(_ start: Int, _ count: Int) -> Int? {
            var value = 0
            for i in start..<(start + count) {
                let c = b[i]
                guard c >= 0x30 && c <= 0x39 else { return nil }
                value = value * 10 + Int(c - 0x30)
            }
            return value
        }
        guard let year = digits(0, 4), b[4] == UInt8(ascii: "-"),
            let month = digits(5, 2), b[7] == UInt8(ascii: "-"),
            let day = digits(8, 2), b[10] == UInt8(ascii: "T"),
            let hour = digits(11, 2), b[13] == UInt8(ascii: ":"),
            let minute = digits(14, 2), b[16] == UInt8(ascii: ":"),
            let second = digits(17, 2)
        else { return false }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
            hour <= 23, minute <= 59, second <= 59
        else { return false }
        var i = 19
        if b[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
            guard i > start, i - start <= 9 else { return false }
        }
        guard i < b.count else { return false }
        if b[i] == UInt8(ascii: "Z") {
            return i + 1 == b.count
        }
        guard b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), i + 6 == b.count,
            let offsetHour = digits(i + 1, 2), b[i + 3] == UInt8(ascii: ":"),
            let offsetMinute = digits(i + 4, 2)
        else { return false }
        return offsetHour <= 23 && offsetMinute <= 59
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Formats Unix milliseconds as `yyyy-mm-ddThh:mm:ss.sssZ` (UTC, 24 bytes), the form the
    /// relay stamps on events that came without a timestamp.
    static func format(unixMilliseconds: Int64) -> [UInt8] {
        let millis = Int(unixMilliseconds % 1000 + 1000) % 1000
        let totalSeconds = (unixMilliseconds - Int64(millis)) / 1000
        let days = Int(floorDiv(totalSeconds, 86_400))
        let secondsOfDay = Int(totalSeconds - Int64(days) * 86_400)
        let (year, month, day) = civilFromDays(days)
        var out = [UInt8]()
        out.reserveCapacity(24)
        func put(_ value: Int, width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var v = value
            while divisor > 0 {
                out.append(UInt8(0x30 + (v / divisor) % 10))
                v %= divisor
                divisor /= 10
            }
        }
        put(year, width: 4); out.append(UInt8(ascii: "-"))
        put(month, width: 2); out.append(UInt8(ascii: "-"))
        put(day, width: 2); out.append(UInt8(ascii: "T"))
        put(secondsOfDay / 3600, width: 2); out.append(UInt8(ascii: ":"))
        put(secondsOfDay / 60 % 60, width: 2); out.append(UInt8(ascii: ":"))
        put(secondsOfDay % 60, width: 2); out.append(UInt8(ascii: "."))
        put(millis, width: 3); out.append(UInt8(ascii: "Z"))
        return out
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }

    /// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian, days since 1970-01-01).
    private static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
