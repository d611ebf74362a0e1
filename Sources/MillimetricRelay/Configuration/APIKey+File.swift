import FoundationEssentials

extension APIKey {
    /// The key in a file (`--key-file`, the systemd credential, `key_file`, the reloaded key),
    /// read whole and validated as ``init(_:source:)`` does. `what` names the file in the
    /// message when it cannot be read, e.g. "the API key from --key-file /etc/…".
    init(readingFile path: String, what: String, source: String) throws(ConfigurationError) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError("cannot read \(what): \(error.reason)")
        }
        try self.init(text, source: source)
    }
}
