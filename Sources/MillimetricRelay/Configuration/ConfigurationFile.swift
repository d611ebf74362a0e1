/// Reads the relay's config file: `key = value` lines, `#` comments, optional quotes.
///
/// Deliberately small and strict: an unknown key or a line that is not `key = value` is an
/// error naming the line, so a typo cannot silently leave a default in force.
enum ConfigurationFile {
    static func parse(_ text: String, path: String) throws(ConfigurationError) -> [String: String] {
        var values: [String: String] = [:]
        // "\r\n" is one Character in Swift: split on it too, or a CRLF file is one long line.
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
        for (number, rawLine) in lines.enumerated() {
            var line = Substring(rawLine)
            if let hash = commentStart(line) { line = line[..<hash] }
            let trimmed = String(line).trimmingWhitespace()
            if trimmed.isEmpty { continue }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw ConfigurationError("\(path):\(number + 1): expected `key = value`, found `\(trimmed)`")
            }
            let key = String(trimmed[..<equals]).trimmingWhitespace().lowercased()
            var value = String(trimmed[trimmed.index(after: equals)...]).trimmingWhitespace()
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            guard RelayConfiguration.Key(rawValue: key) != nil else {
                let known = RelayConfiguration.Key.allCases.map(\.rawValue)
                let hint = NearestKey.suggestion(for: key, among: known).map { "did you mean `\($0)`? " } ?? ""
                throw ConfigurationError("\(path):\(number + 1): unknown key `\(key)`; \(hint)known keys: \(known.joined(separator: ", "))")
            }
            values[key] = value
        }
        return values
    }

    /// The first `#` outside double quotes: a comment may follow a quoted value that holds a `#`.
    private static func commentStart(_ line: Substring) -> Substring.Index? {
        var quoted = false
        for index in line.indices {
            if line[index] == "\"" {
                quoted.toggle()
            } else if line[index] == "#" && !quoted {
                return index
            }
        }
        return nil
    }
}
