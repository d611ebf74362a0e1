/// Finds the known name closest to a misspelt one, so that an error can say "did you mean …":
/// a typo such as `flush_intervall` should point at `flush_interval`, not just list every key.
enum NearestKey {
    /// The candidate with the smallest edit distance to `name` (case-insensitive), if it is close
    /// enough to be a plausible typo: at most a third of the name's length, and at most 4 edits.
    static func suggestion(for name: String, among candidates: [String]) -> String? {
        let lowered = Array(name.lowercased().utf8)
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(lowered, Array(candidate.lowercased().utf8))
            if distance < best?.distance ?? Int.max { best = (candidate, distance) }
        }
        guard let best, best.distance <= min(4, max(1, lowered.count / 3)) else { return nil }
        return best.candidate
    }

    /// Levenshtein distance (insertions, deletions, substitutions), two rows at a time.
    static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(substitution, previous[j] + 1, current[j - 1] + 1)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
