import FuzzSupport

@testable import MillimetricRelay

/// What must hold for any config file or `MILLIMETRIC_RELAY_*` value an operator (or whatever
/// writes the unit's environment) could hand the relay (SPEC §3):
///
/// - the file parser either names the offending line or returns only known keys, and no value
///   swallows a line break (a `\r\n` file must not merge its lines into one value);
/// - what the file parser returns, written back as `key = value` lines, parses to the same;
/// - a value `set` accepts prints back (`RelayConfiguration.value(for:)`) as a value that sets
///   the same configuration, and printing that again gives the same text (a fixed point);
/// - the size, duration and `host:port` parsers never give a negative or out-of-range value and
///   read their own canonical spelling back;
/// - resolving from the environment either refuses with a message or gives a configuration that
///   resolves again, identical, from its own printed values.
///
/// Nothing may trap: a bad value is a configuration error (exit 78), never a crash.
enum ConfigurationInvariants {
    static let environment = ["RUNTIME_DIRECTORY": "/run/millimetric-relay", "STATE_DIRECTORY": "/var/lib/millimetric-relay"]
    static let base = RelayConfiguration(environment: environment)

    static func checkFile(_ text: String) {
        let values: [String: String]
        do {
            values = try ConfigurationFile.parse(text, path: "fuzz.conf")
        } catch {
            Invariant.require(error.message.hasPrefix("fuzz.conf:"), "a file error that names no line: \(error.message.debugDescription)")
            return
        }
        var lines: [String] = []
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            Invariant.require(RelayConfiguration.Key(rawValue: key) != nil, "the file gave the unknown key \(key.debugDescription)")
            Invariant.require(!value.contains(where: { $0 == "\n" || $0 == "\r\n" }), "the value of \(key) spans lines: \(value.debugDescription)")
            guard let line = ConfigurationFile.line(key: key, value: value) else {
                Invariant.fail("the value of \(key) read from a file cannot be written back: \(value.debugDescription)")
            }
            lines.append(line)
            checkSet(RelayConfiguration.Key(rawValue: key)!, value)
        }
        let written = lines.joined(separator: "\n")
        let reread = try? ConfigurationFile.parse(written, path: "written.conf")
        Invariant.require(reread == values, "\(values) written as \(written.debugDescription) reads back as \(String(describing: reread))")
    }

    /// The text as the value of every key, and as one `MILLIMETRIC_RELAY_<KEY>` of a whole
    /// environment; the value parsers on their own.
    static func checkValue(_ text: String, seed: UInt8) {
        for key in RelayConfiguration.Key.allCases {
            checkSet(key, text)
        }
        checkValueParsers(text)
        let key = RelayConfiguration.Key.allCases[Int(seed) % RelayConfiguration.Key.allCases.count]
        checkResolve(environment.merging(["MILLIMETRIC_RELAY_\(key.rawValue.uppercased())": text]) { $1 })
    }

    static func checkSet(_ key: RelayConfiguration.Key, _ value: String) {
        var first = base
        do {
            try first.set(key, value, source: "fuzz")
        } catch {
            Invariant.require(!error.message.isEmpty, "an empty error for \(key) = \(value.debugDescription)")
            return
        }
        let printed = first.value(for: key)
        var second = base
        do {
            try second.set(key, printed, source: "printed")
        } catch {
            Invariant.fail("\(key) = \(value.debugDescription) prints as \(printed.debugDescription), which is refused: \(error.message)")
        }
        Invariant.require(second == first, "\(key) = \(value.debugDescription) prints as \(printed.debugDescription), which sets something else")
        Invariant.require(second.value(for: key) == printed, "\(key): \(printed.debugDescription) prints as \(second.value(for: key).debugDescription)")
    }

    static func checkValueParsers(_ text: String) {
        if let bytes = ValueParsing.bytes(text) {
            Invariant.require(bytes >= 0, "the size \(text.debugDescription) is \(bytes)")
            let printed = ValueParsing.formatBytes(bytes)
            Invariant.require(ValueParsing.bytes(printed) == bytes, "the size \(bytes) prints as \(printed), which reads differently")
        }
        if let duration = ValueParsing.duration(text) {
            Invariant.require(duration >= .zero, "the duration \(text.debugDescription) is \(duration)")
            let printed = ValueParsing.formatDuration(duration)
            Invariant.require(ValueParsing.duration(printed) == duration, "the duration \(duration) prints as \(printed), which reads differently")
        }
        if let (host, port) = ValueParsing.hostPort(text) {
            Invariant.require((0...65535).contains(port), "the port of \(text.debugDescription) is \(port)")
            let bracketed = host.contains(":") || (host.hasPrefix("[") && host.hasSuffix("]"))
            let printed = bracketed ? "[\(host)]:\(port)" : "\(host):\(port)"
            let reread = ValueParsing.hostPort(printed)
            Invariant.require(reread?.0 == host && reread?.1 == port, "\(host.debugDescription) port \(port) prints as \(printed.debugDescription), which reads differently")
        }
    }

    static func checkResolve(_ environment: [String: String]) {
        let configuration: RelayConfiguration
        do {
            configuration = try RelayConfiguration.resolve(configFile: nil, environment: environment)
        } catch {
            Invariant.require(!error.message.isEmpty, "an empty error for \(environment)")
            return
        }
        var printed = Self.environment
        for key in RelayConfiguration.Key.allCases {
            printed["MILLIMETRIC_RELAY_\(key.rawValue.uppercased())"] = configuration.value(for: key)
        }
        do {
            let again = try RelayConfiguration.resolve(configFile: nil, environment: printed)
            Invariant.require(again == configuration, "\(environment) resolves differently from its own printed values")
        } catch {
            Invariant.fail("\(environment) resolves, but its printed values are refused: \(error.message)")
        }
    }
}
