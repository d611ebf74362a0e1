import FoundationEssentials
import Glibc

/// Everything the daemon runs with, resolved from (lowest first) built-in defaults, the config
/// file, the environment (`MILLIMETRIC_HOST`, then `MILLIMETRIC_RELAY_<KEY>`) and command-line
/// flags, the order the README's Configuration table documents.
///
/// Defaults follow systemd: the socket lives in `$RUNTIME_DIRECTORY`, the outbox in
/// `$STATE_DIRECTORY`, so the unit's `RuntimeDirectory=`/`StateDirectory=` need no repeating.
public struct RelayConfiguration: Sendable, Equatable {
    /// Every setting a config file or `MILLIMETRIC_RELAY_<KEY>` may set.
    public enum Key: String, CaseIterable, Sendable {
        case socketPath = "socket_path"
        case socketMode = "socket_mode"
        case stateDir = "state_dir"
        case host
        case keyFile = "key_file"
        case caFile = "ca_file"
        case proxy
        case synchronous
        case maxOutboxBytes = "max_outbox_bytes"
        case maxLineBytes = "max_line_bytes"
        case maxConnections = "max_connections"
        case flushInterval = "flush_interval"
        case batchRate = "batch_rate"
        case batchBurst = "batch_burst"
        case trackRate = "track_rate"
        case trackBurst = "track_burst"
        case maxInFlight = "max_in_flight"
        case requestTimeout = "request_timeout"
        case stopTimeout = "stop_timeout"
        case forgetAllowedUIDs = "forget_allowed_uids"
        case metricsListen = "metrics_listen"
        case httpListen = "http_listen"
        case httpRequestTimeout = "http_request_timeout"
        case logLevel = "log_level"
    }

    public var socketPath: String
    public var socketMode: UInt32 = 0o660
    public var stateDirectory: String
    public var host: String = "https://api.millimetric.ai"
    public var keyFile: String?
    public var caFile: String?
    public var proxy: String?
    public var synchronous: SynchronousMode = .full
    public var maxOutboxBytes: Int64 = 1 << 30
    public var maxLineBytes: Int = 64 * 1024
    public var maxConnections: Int = 1024
    public var flushInterval: Duration = .seconds(1)
    public var batchRate: Double = 5
    public var batchBurst: Int = 20
    public var trackRate: Double = 50
    public var trackBurst: Int = 200
    public var maxInFlight: Int = 4
    public var requestTimeout: Duration = .seconds(30)
    public var stopTimeout: Duration = .seconds(5)
    public var forgetPolicy: ForgetPolicy = .default
    /// `host:port` of the Prometheus listener; loopback only; nil when off.
    public var metricsListen: String?
    /// Where the API's own HTTP is served (SPEC §4b): `host:port` or `unix:/path`; nil when off.
    public var httpListen: HTTPListenAddress?
    /// How long an HTTP request's head and body may take to arrive (slowloris), and how long an
    /// idle keep-alive connection stays open.
    public var httpRequestTimeout: Duration = .seconds(30)
    public var logLevel: String = "info"

    /// The outbox database inside the state directory.
    public var databasePath: String { stateDirectory.appendingPathComponent("outbox.sqlite") }
    /// The lock that keeps two daemons off one state directory.
    public var lockPath: String { stateDirectory.appendingPathComponent("relay.lock") }

    /// The built-in defaults, with systemd's `RUNTIME_DIRECTORY` and `STATE_DIRECTORY` (which
    /// only move the defaults: a config file or variable that names a path wins over them).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let runtime = environment["RUNTIME_DIRECTORY"].flatMap { $0.split(separator: ":").first.map(String.init) } ?? "/run/millimetric-relay"
        let state = environment["STATE_DIRECTORY"].flatMap { $0.split(separator: ":").first.map(String.init) } ?? "/var/lib/millimetric-relay"
        socketPath = runtime.appendingPathComponent("ingest.sock")
        stateDirectory = state
    }

    /// Resolves the configuration from its layers.
    ///
    /// - Parameters:
    ///   - configFile: an explicit `--config`; when nil, `MILLIMETRIC_RELAY_CONFIG` is used if set.
    ///   - flags: values given on the command line, by key.
    public static func resolve(
        configFile: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
        flags: [Key: String] = [:]
    ) throws(ConfigurationError) -> RelayConfiguration {
        var configuration = RelayConfiguration(environment: environment)
        if let path = configFile ?? environment["MILLIMETRIC_RELAY_CONFIG"] {
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ConfigurationError("cannot read the config file \(path): \(error.reason)")
            }
            for (key, value) in try ConfigurationFile.parse(text, path: path) {
                try configuration.set(Key(rawValue: key)!, value, source: path)
            }
        }
        for (key, value, variable) in try EnvironmentSettings.parse(environment) {
            try configuration.set(key, value, source: variable)
        }
        for (key, value) in flags.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            try configuration.set(key, value, source: "--\(key.rawValue.replacing("_", with: "-"))")
        }
        try configuration.validate()
        return configuration
    }

    /// Sets one key from text, naming `source` in any error.
    public mutating func set(_ key: Key, _ value: String, source: String) throws(ConfigurationError) {
        func fail(_ expected: String) -> ConfigurationError {
            ConfigurationError("\(key.rawValue) from \(source): expected \(expected), got `\(value)`")
        }
        switch key {
        case .socketPath: socketPath = value
        case .socketMode:
            guard let mode = UInt32(value, radix: 8), mode <= 0o777 else { throw fail("an octal mode such as 0660") }
            socketMode = mode
        case .stateDir: stateDirectory = value
        case .host: host = value
        case .keyFile: keyFile = value.isEmpty ? nil : value
        case .caFile: caFile = value.isEmpty ? nil : value
        case .proxy: proxy = value.isEmpty ? nil : value
        case .synchronous:
            guard let mode = SynchronousMode(rawValue: value.lowercased()) else { throw fail("`full` or `normal`") }
            synchronous = mode
        case .maxOutboxBytes:
            guard let bytes = ValueParsing.bytes(value), bytes > 0 else { throw fail("a size such as 1GiB or 500MB") }
            maxOutboxBytes = bytes
        case .maxLineBytes:
            // A /v1/batch body is at most 262,144 bytes: a longer event could never be delivered.
            // 255 KiB leaves room for the stamped event_id and timestamp and the batch framing.
            guard let bytes = ValueParsing.bytes(value), bytes >= 1024, bytes <= 255 << 10 else {
                throw fail("a size between 1KiB and 255KiB (an event must fit in one 256 KB batch body)")
            }
            maxLineBytes = Int(bytes)
        case .maxConnections:
            guard let count = Int(value), count > 0 else { throw fail("a positive integer") }
            maxConnections = count
        case .flushInterval, .requestTimeout, .stopTimeout, .httpRequestTimeout:
            guard let duration = ValueParsing.duration(value), duration > .zero else { throw fail("a duration such as 1s or 250ms") }
            switch key {
            case .flushInterval: flushInterval = duration
            case .requestTimeout: requestTimeout = duration
            case .httpRequestTimeout: httpRequestTimeout = duration
            default: stopTimeout = duration
            }
        case .batchRate, .trackRate:
            guard let rate = Double(value), rate > 0, rate.isFinite else { throw fail("a positive number of requests per second") }
            if key == .batchRate { batchRate = rate } else { trackRate = rate }
        case .batchBurst, .trackBurst, .maxInFlight:
            guard let count = Int(value), count > 0 else { throw fail("a positive integer") }
            switch key {
            case .batchBurst: batchBurst = count
            case .trackBurst: trackBurst = count
            default: maxInFlight = count
            }
        case .forgetAllowedUIDs:
            let trimmed = value.trimmingWhitespace()
            if trimmed == "*" {
                forgetPolicy = ForgetPolicy(.everyone)
            } else {
                var uids = Set<UInt32>()
                for part in trimmed.split(whereSeparator: { $0 == "," || $0 == " " }) {
                    guard let uid = UInt32(part) else { throw fail("a list of numeric uids such as `0, 998`, or `*`") }
                    uids.insert(uid)
                }
                forgetPolicy = ForgetPolicy(.uids(uids))
            }
        case .metricsListen:
            metricsListen = value.isEmpty || value == "off" ? nil : value
        case .httpListen:
            if value.isEmpty || value == "off" {
                httpListen = nil
            } else {
                guard let address = HTTPListenAddress(value) else { throw fail("`host:port` such as 127.0.0.1:8787, `unix:/run/millimetric-relay/http.sock` or `off`") }
                httpListen = address
            }
        case .logLevel:
            guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(value.lowercased()) else {
                throw fail("one of trace, debug, info, notice, warning, error, critical")
            }
            logLevel = value.lowercased()
        }
    }

    func validate() throws(ConfigurationError) {
        guard let url = URL(string: host), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http", url.host != nil else {
            throw ConfigurationError("host: expected an http(s) URL such as https://api.millimetric.ai, got `\(host)`")
        }
        if let listen = metricsListen {
            guard let (address, _) = ValueParsing.hostPort(listen), ["127.0.0.1", "::1", "localhost"].contains(address) else {
                throw ConfigurationError("metrics_listen: expected a loopback address such as 127.0.0.1:9464, got `\(listen)`")
            }
        }
        guard socketPath.utf8.count < 108 else {
            throw ConfigurationError("socket_path: `\(socketPath)` is longer than the 107 bytes a Unix socket path may have")
        }
    }

    /// Finds the API key in the order of SPEC §3: `--key-file`, the systemd credential,
    /// `MILLIMETRIC_KEY`, then the config file's `key_file`.
    public static func loadKey(
        keyFileFlag: String?, configuration: RelayConfiguration,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) -> APIKey {
        func read(_ path: String, source: String) throws(ConfigurationError) -> APIKey {
            try APIKey(readingFile: path, what: "the API key from \(source) \(path)", source: "\(source) \(path)")
        }
        if let path = keyFileFlag { return try read(path, source: "--key-file") }
        if let directory = environment["CREDENTIALS_DIRECTORY"] {
            let path = directory.appendingPathComponent("millimetric-key")
            if FileManager.default.fileExists(atPath: path) { return try read(path, source: "credential") }
        }
        if let key = environment["MILLIMETRIC_KEY"], !key.isEmpty { return try APIKey(key, source: "MILLIMETRIC_KEY") }
        if let path = configuration.keyFile { return try read(path, source: "key_file") }
        throw ConfigurationError("no API key: pass --key-file, use systemd's LoadCredential=millimetric-key:…, set MILLIMETRIC_KEY, or set key_file in the config; it must be a server key (sk_…)")
    }
}
