/// Reads the relay's config file: `key = value` lines, `#` comments, optional quotes.
///
/// Deliberately small and strict: an unknown key or a line that is not `key = value` is an
/// error naming the line, so a typo cannot silently leave a default in force.
enum ConfigurationFile {
    static func parse(_ text: String, path: String) throws(ConfigurationError) -> [String: String] {
        var values: [String: String] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#"), !isInsideQuotes(line, hash) { line = line[..<hash] }
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

    private static func isInsideQuotes(_ line: Substring, _ index: Substring.Index) -> Bool {
        line[..<index].filter { $0 == "\"" }.count % 2 == 1
    }
}
