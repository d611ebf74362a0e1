extension String {
    /// `self` with `component` appended after a `/`, as `NSString.appendingPathComponent`
    /// does for the relative names the relay joins (`outbox.sqlite`, `ingest.sock`), without
    /// the full Foundation module (issue 11).
    func appendingPathComponent(_ component: String) -> String {
        if isEmpty { return component }
        return hasSuffix("/") ? self + component : self + "/" + component
    }
}
