/// A reading of Prometheus's text exposition format, enough for the tests to check what a scrape
/// says about each family: its `# HELP`, its `# TYPE` and its samples.
struct ExpositionText {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    var help: [String: String] = [:]
    var type: [String: String] = [:]
    var samples: [Sample] = []

    init(_ text: String) {
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ", maxSplits: 3)
                guard parts.count == 4 else { continue }
                if parts[1] == "HELP" { help[String(parts[2])] = String(parts[3]) } else { type[String(parts[2])] = String(parts[3]) }
            } else if !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) {
                let series = line[..<space]
                var labels: [String: String] = [:]
                var name = String(series)
                if let brace = series.firstIndex(of: "{") {
                    name = String(series[..<brace])
                    let body = series[series.index(after: brace)..<(series.lastIndex(of: "}") ?? series.endIndex)]
                    for pair in body.split(separator: ",") {
                        let keyValue = pair.split(separator: "=", maxSplits: 1)
                        if keyValue.count == 2 { labels[String(keyValue[0])] = String(keyValue[1].dropFirst().dropLast()) }
                    }
                }
                samples.append(Sample(name: name, labels: labels, value: value))
            }
        }
    }

    /// The family a sample belongs to: a histogram's `_bucket`, `_sum` and `_count` belong to it.
    func family(of sample: Sample) -> String {
        for suffix in ["_bucket", "_sum", "_count"] where sample.name.hasSuffix(suffix) {
            let base = String(sample.name.dropLast(suffix.count))
            if type[base] == "histogram" { return base }
        }
        return sample.name
    }

    /// The value of the sample named `name` with exactly these labels.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }
}
