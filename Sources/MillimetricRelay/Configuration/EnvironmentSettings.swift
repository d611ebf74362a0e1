/// The configuration layer that comes from the environment: `MILLIMETRIC_HOST`, then every
/// `MILLIMETRIC_RELAY_<KEY>` variable.
///
/// Strict like the config file: a `MILLIMETRIC_RELAY_*` variable that names no key is an error
/// naming the nearest known one, so `MILLIMETRIC_RELAY_FLUSH_INTERVALL=1s` cannot silently leave
/// the default in force. The prefix also carries two names that are not keys:
/// `MILLIMETRIC_RELAY_CONFIG` (the config file) and, in debug builds only, the test hooks.
/// `MILLIMETRIC_KEY` (the API key) is read by ``RelayConfiguration/loadKey``, and systemd's own
/// variables (`RUNTIME_DIRECTORY`, `NOTIFY_SOCKET`, `LISTEN_FDS`, …) are outside the prefix.
enum EnvironmentSettings {
    static let prefix = "MILLIMETRIC_RELAY_"
    /// The API base URL, documented by the Millimetric API itself; `MILLIMETRIC_RELAY_HOST`
    /// (the key's own variable) wins over it when both are set.
    static let hostVariable = "MILLIMETRIC_HOST"
    /// Names the config file when `--config` is not given.
    static let configFileVariable = "MILLIMETRIC_RELAY_CONFIG"

    /// The variable that sets `key`.
    static func variable(for key: RelayConfiguration.Key) -> String {
        prefix + key.rawValue.uppercased()
    }

    /// Every setting the environment makes, in the order it applies, with the variable that
    /// made it; throws for a `MILLIMETRIC_RELAY_*` name that is not known.
    static func parse(_ environment: [String: String]) throws(ConfigurationError) -> [(RelayConfiguration.Key, String, String)] {
        var settings: [(RelayConfiguration.Key, String, String)] = []
        if let host = environment[hostVariable], !host.isEmpty {
            settings.append((.host, host, hostVariable))
        }
        let keysByVariable = Dictionary(uniqueKeysWithValues: RelayConfiguration.Key.allCases.map { (variable(for: $0), $0) })
        let otherNames: Set<String> = TestHooks.environmentVariables.union([configFileVariable])
        for name in environment.keys.sorted() where name.hasPrefix(prefix) {
            if let key = keysByVariable[name] {
                settings.append((key, environment[name]!, name))
            } else if !otherNames.contains(name) {
                let known = keysByVariable.keys.sorted() + [configFileVariable]
                // Compared without the shared prefix, so that only the part after it counts.
                let suffixes = known.map { String($0.dropFirst(prefix.count)) }
                let nearest = NearestKey.suggestion(for: String(name.dropFirst(prefix.count)), among: suffixes)
                let hint = nearest.map { "did you mean \(prefix)\($0)? " } ?? ""
                throw ConfigurationError("unknown environment variable \(name); \(hint)each config key can be set as MILLIMETRIC_RELAY_<KEY>: \(known.joined(separator: ", "))")
            }
        }
        return settings
    }
}
