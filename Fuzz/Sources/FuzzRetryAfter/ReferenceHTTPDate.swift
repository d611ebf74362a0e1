import Foundation

/// HTTP-dates read and written the plain way, to check `RetryAfter` against: RFC 9110 §5.6.7's
/// three forms matched by regular expressions, and the arithmetic left to Foundation's Gregorian
/// calendar in UTC rather than to hand-written day counts.
///
/// Like the relay, day and month names match in any case, the weekday is not checked against
/// the date, and a leap second (`:60`) is accepted.
enum ReferenceHTTPDate {
    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
    static let shortDays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    static let longDays = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    static let shortDaysByWeekday = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let longDaysByWeekday = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    nonisolated(unsafe) static let imfFixdate = try! Regex(#"([A-Za-z]+), ([0-9]{2}) ([A-Za-z]+) ([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) GMT"#)
    nonisolated(unsafe) static let rfc850 = try! Regex(#"([A-Za-z]+), ([0-9]{2})-([A-Za-z]+)-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) GMT"#)
    nonisolated(unsafe) static let asctime = try! Regex(#"([A-Za-z]+) ([A-Za-z]+) ( [0-9]|[0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([0-9]{4})"#)

    /// Seconds since 1970 for a date in one of the three forms; nil for anything else.
    static func secondsSince1970(_ text: String, now: Date) -> Int64? {
        // Only ASCII can match; this also keeps Regex's Unicode semantics out of the way.
        guard text.utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        if let match = try? imfFixdate.wholeMatch(in: text) {
            let fields = fieldsOf(match)
            guard shortDays.contains(fields[0].lowercased()) else { return nil }
            return instant(year: Int(fields[3])!, month: fields[2], day: fields[1], time: Array(fields[4...6]))
        }
        if let match = try? rfc850.wholeMatch(in: text) {
            let fields = fieldsOf(match)
            guard longDays.contains(fields[0].lowercased()) else { return nil }
            // A two-digit year is the one in the 100 years ending 50 years after now.
            let currentYear = calendar.component(.year, from: now)
            let candidates = [-100, 0, 100].map { currentYear / 100 * 100 + $0 + Int(fields[3])! }
            let year = candidates.first { $0 > currentYear - 50 && $0 <= currentYear + 50 }!
            return instant(year: year, month: fields[2], day: fields[1], time: Array(fields[4...6]))
        }
        if let match = try? asctime.wholeMatch(in: text) {
            let fields = fieldsOf(match)
            guard shortDays.contains(fields[0].lowercased()) else { return nil }
            return instant(year: Int(fields[6])!, month: fields[1], day: fields[2], time: Array(fields[3...5]))
        }
        return nil
    }

    /// The instant written in each form (RFC 850 only when its two-digit year reads back).
    static func spellings(of instant: Int64, now: Date) -> [(String, String)] {
        let date = Date(timeIntervalSince1970: Double(instant))
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let (year, month, day) = (c.year!, monthNames[c.month! - 1], c.day!)
        let time = "\(pad(c.hour!)):\(pad(c.minute!)):\(pad(c.second!))"
        let (shortDay, longDay) = (shortDaysByWeekday[c.weekday! - 1], longDaysByWeekday[c.weekday! - 1])
        var forms = [
            ("IMF-fixdate", "\(shortDay), \(pad(day)) \(month) \(pad(year, 4)) \(time) GMT"),
            ("asctime", "\(shortDay) \(month) \(day < 10 ? " \(day)" : "\(day)") \(time) \(pad(year, 4))"),
        ]
        let currentYear = calendar.component(.year, from: now)
        if year <= currentYear + 50 && year > currentYear - 50 {
            forms.append(("RFC 850", "\(longDay), \(pad(day))-\(month)-\(pad(year % 100)) \(time) GMT"))
        }
        return forms
    }

    private static func pad(_ value: Int, _ width: Int = 2) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    private static func fieldsOf(_ match: Regex<AnyRegexOutput>.Match) -> [String] {
        match.output.dropFirst().map { String($0.substring!) }
    }

    private static func instant(year: Int, month name: String, day dayText: String, time: [String]) -> Int64? {
        guard let monthIndex = months.firstIndex(of: name.lowercased()),
            let day = Int(dayText.trimmingCharacters(in: .whitespaces)),
            let hour = Int(time[0]), hour <= 23, let minute = Int(time[1]), minute <= 59, let second = Int(time[2]), second <= 60
        else { return nil }
        let month = monthIndex + 1
        // Foundation's calendar is Julian before 1582; the Gregorian one repeats every 400
        // years, so an earlier date is checked 2000 years later. It is long past either way.
        let checkedYear = year < 1600 ? year + 2000 : year
        let firstOfMonth = calendar.date(from: DateComponents(year: checkedYear, month: month, day: 1))!
        guard let days = calendar.range(of: .day, in: .month, for: firstOfMonth), days.contains(day) else { return nil }
        guard year >= 1600 else { return -(1 << 40) }
        let midnight = calendar.date(from: DateComponents(year: year, month: month, day: day))!
        return Int64(midnight.timeIntervalSince1970) + Int64(hour * 3600 + minute * 60 + second)
    }
}
