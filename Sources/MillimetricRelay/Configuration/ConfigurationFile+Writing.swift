/// Writes `key = value` lines that `ConfigurationFile.parse` reads back exactly.
extension ConfigurationFile {
    /// A line setting `key` to `value`, quoted so that surrounding spaces, quotes and `#` survive;
    /// nil when no line can carry the value (it holds a line break).
    ///
    /// `parse` ends a value at a `#` preceded by an even number of `"` on the line, so the
    /// value is wrapped in `"` when every `#` in it has an even number of `"` before it, in `'`
    /// when every one has an odd number.
    static func line(key: String, value: String) -> String? {
        guard !value.contains(where: { $0 == "\n" || $0 == "\r\n" }) else { return nil }
        var quotesBefore = 0
        var evenBeforeEveryHash = true
        var oddBeforeEveryHash = true
        for character in value {
            if character == "\"" { quotesBefore += 1 }
            if character == "#" {
                if quotesBefore % 2 == 0 { oddBeforeEveryHash = false } else { evenBeforeEveryHash = false }
            }
        }
        if evenBeforeEveryHash { return "\(key) = \"\(value)\"" }
        if oddBeforeEveryHash { return "\(key) = '\(value)'" }
        return nil
    }
}
