import FoundationEssentials
import Glibc

/// What `import` shows while it runs (on stderr, so stdout stays free): on a terminal a bar
/// redrawn four times a second; otherwise one plain line every five seconds, which is what a
/// log or a CI job wants.
struct ImportProgressDisplay {
    struct Figures {
        var name: String
        var consumedBytes: Int64
        var totalBytes: Int64?
        var linesRead: Int
        var accepted: Int
        var refused: Int
        var elapsed: Double
    }

    let isTerminal = isatty(STDERR_FILENO) == 1
    var interval: Double { isTerminal ? 0.25 : 5 }

    func show(_ figures: Figures) {
        let rate = figures.elapsed > 0 ? Double(figures.accepted + figures.refused) / figures.elapsed : 0
        var eta = "?"
        var percent: Double?
        if let total = figures.totalBytes, total > 0 {
            let fraction = min(1, Double(figures.consumedBytes) / Double(total))
            percent = fraction * 100
            if fraction > 0.001 { eta = Self.duration(figures.elapsed / fraction - figures.elapsed) }
        }
        let counts = "\(Self.bytes(figures.consumedBytes))\(figures.totalBytes.map { "/\(Self.bytes($0))" } ?? ""), \(figures.linesRead) lines, \(Int(rate)) events/s, \(figures.refused) refused, ETA \(eta)"
        if isTerminal {
            let width = 24
            let filled = Int((percent ?? 0) / 100 * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            let line = "\r\(figures.name) [\(bar)] \(percent.map { String(Int($0)) + "%" } ?? "") \(counts)\u{1B}[K"
            Self.writeError(line)
        } else {
            Self.writeError("import \(figures.name): \(percent.map { String(Int($0)) + "% " } ?? "")\(counts)\n")
        }
    }

    /// Ends the bar's line before the summary.
    func finish() {
        if isTerminal { Self.writeError("\n") }
    }

    static func writeError(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    static func bytes(_ count: Int64) -> String {
        if count < 10_000 { return "\(count) B" }
        if count < 10_000_000 { return "\(count / 1000) kB" }
        if count < 10_000_000_000 { return "\(count / 1_000_000) MB" }
        return "\(count / 1_000_000_000) GB"
    }

    static func duration(_ seconds: Double) -> String {
        let s = max(0, Int(seconds.rounded()))
        if s < 120 { return "\(s)s" }
        if s < 7200 { return "\(s / 60)m\(s % 60)s" }
        return "\(s / 3600)h\(s % 3600 / 60)m"
    }
}
