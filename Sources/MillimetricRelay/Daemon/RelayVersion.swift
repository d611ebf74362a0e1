/// The relay's version, sent in `User-Agent` and shown by `--version`.
public enum RelayVersion {
    public static let current = "0.1.0"
}
