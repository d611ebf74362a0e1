import Foundation

/// Number formatting for the reports.
public enum Format {
    /// 1234567 → "1,234,567".
    public static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return value < 0 ? "-" + out : out
    }

    /// Rounded to an integer, with separators.
    public static func rate(_ value: Double) -> String {
        value.isFinite ? count(Int(value.rounded())) : "n/a"
    }

    public static func fixed(_ value: Double, _ digits: Int = 2) -> String {
        String(format: "%.\(digits)f", value)
    }

    public static func megabytes(kilobytes: Int?) -> String {
        guard let kilobytes else { return "n/a" }
        return String(format: "%.1f MB", Double(kilobytes) / 1024)
    }

    public static func percent(_ ratio: Double) -> String {
        String(format: "%.1f %%", ratio * 100)
    }

    /// "median (min–max)" of several repeats, or the value alone.
    public static func spread(_ values: [Double], _ format: (Double) -> String) -> String {
        guard values.count > 1 else { return values.first.map(format) ?? "n/a" }
        let sorted = values.sorted()
        let median =
            sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        return "\(format(median)) (\(format(sorted.first!))–\(format(sorted.last!)))"
    }
}
