/// Spells values the way `ValueParsing` reads them, so that a setting can be printed back
/// (`RelayConfiguration.value(for:)`) and the fuzzer can check that parsing what was printed
/// gives the same value.
extension ValueParsing {
    /// The shortest exact spelling of `count`: `1GiB`, `64KiB`, or plain digits.
    static func formatBytes(_ count: Int64) -> String {
        guard count != 0 else { return "0" }
        for (shift, suffix) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] where count % (1 << shift) == 0 {
            return "\(count >> shift)\(suffix)"
        }
        return "\(count)"
    }

    /// `2s` or `250ms`, to the millisecond (what `duration(_:)` can express).
    static func formatDuration(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }
}
