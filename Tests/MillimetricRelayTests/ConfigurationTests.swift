import Foundation
import Testing

@testable import MillimetricRelay

@Suite struct ConfigurationTests {
    /// A config file holding `text`, for `body`; removed afterwards.
    @discardableResult
    static func withConfigFile<T>(_ text: String, _ body: (_ path: String) throws -> T) throws -> T {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("relay-\(UUID().uuidString).conf")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        return try body(file.path)
    }

    @Test func aServerKeyIsAcceptedAndRedactsItselfEverywhere() throws {
        let key = try APIKey("sk_live_abcdefghijklmnop_1234wxyz\n", source: "test")
        #expect("\(key)" == "sk_live_…wxyz")
        #expect(String(describing: key) == "sk_live_…wxyz")
        #expect(String(reflecting: key) == "sk_live_…wxyz")
        var dumped = ""
        dump(key, to: &dumped)
        #expect(!dumped.contains("abcdefghijklmnop"))
        #expect(key.authorizationHeader == "Authorization: Bearer sk_live_abcdefghijklmnop_1234wxyz")
    }

    @Test(arguments: [
        ("pk_live_abcdefghijklmnop_1234", "browser snippet"), ("rk_live_abcdefghijklmnop_1234", "read-only"),
        ("sk_live_onlythree", "malformed"), ("sk__x_y", "malformed"), ("token", "malformed"), ("sk_a_b_c d", "malformed"),
    ])
    func keysThatAreNotServerKeysAreRefusedWithoutRepeatingThem(_ raw: String, _ reason: String) {
        do {
            _ = try APIKey(raw, source: "MILLIMETRIC_KEY")
            Issue.record("accepted \(raw)")
        } catch {
            #expect(error.message.contains(reason))
            if raw.count > 16 { #expect(!error.message.contains(raw)) }
        }
    }

    @Test func flagsBeatTheEnvironmentWhichBeatsTheFile() throws {
        let text = """
        # comment
        state_dir = /from/file
        host = https://from-file.example
        socket_path = "/from/file.sock"   # trailing comment
        max_outbox_bytes = 2GiB
        flush_interval = 250ms
        forget_allowed_uids = 0, 998
        """
        let configuration = try Self.withConfigFile(text) { path throws in
            try RelayConfiguration.resolve(
                configFile: path,
                environment: ["MILLIMETRIC_RELAY_SOCKET_PATH": "/from/env.sock", "MILLIMETRIC_RELAY_SYNCHRONOUS": "normal", "MILLIMETRIC_HOST": "http://127.0.0.1:8787"],
                flags: [.stateDir: "/from/flag"])
        }
        #expect(configuration.stateDirectory == "/from/flag")
        #expect(configuration.socketPath == "/from/env.sock")
        #expect(configuration.synchronous == .normal)
        #expect(configuration.maxOutboxBytes == 2 << 30)
        #expect(configuration.flushInterval == .milliseconds(250))
        #expect(configuration.forgetPolicy == ForgetPolicy(.uids([0, 998])))
        // MILLIMETRIC_HOST is the environment layer too: it beats the file's `host`.
        #expect(configuration.host == "http://127.0.0.1:8787")
    }

    @Test func theHostComesFromTheFileThenMillimetricHostThenItsOwnVariableThenTheFlag() throws {
        try Self.withConfigFile("host = https://file.example\n") { path throws in
            func host(_ environment: [String: String], flags: [RelayConfiguration.Key: String] = [:]) throws -> String {
                try RelayConfiguration.resolve(configFile: path, environment: environment, flags: flags).host
            }
            #expect(try host([:]) == "https://file.example")
            #expect(try host(["MILLIMETRIC_HOST": "https://env.example"]) == "https://env.example")
            #expect(try host(["MILLIMETRIC_HOST": "https://env.example", "MILLIMETRIC_RELAY_HOST": "https://relay-env.example"]) == "https://relay-env.example")
            #expect(try host(["MILLIMETRIC_HOST": "https://env.example"], flags: [.host: "https://flag.example"]) == "https://flag.example")
        }
        #expect(try RelayConfiguration.resolve(configFile: nil, environment: [:]).host == "https://api.millimetric.ai")
    }

    @Test func aMisspeltEnvironmentVariableIsAnErrorNamingTheNearestKey() throws {
        #expect { try RelayConfiguration.resolve(configFile: nil, environment: ["MILLIMETRIC_RELAY_FLUSH_INTERVALL": "1s"]) } throws: { error in
            "\(error)".contains("unknown environment variable MILLIMETRIC_RELAY_FLUSH_INTERVALL; did you mean MILLIMETRIC_RELAY_FLUSH_INTERVAL?")
        }
        // Nothing close: no guess, but the list of what exists.
        #expect { try RelayConfiguration.resolve(configFile: nil, environment: ["MILLIMETRIC_RELAY_COLOUR": "blue"]) } throws: { error in
            "\(error)".contains("unknown environment variable MILLIMETRIC_RELAY_COLOUR; each config key") && !"\(error)".contains("did you mean")
        }
        // Names outside the prefix are not the relay's; MILLIMETRIC_RELAY_CONFIG is not a key but is known.
        let configuration = try Self.withConfigFile("flush_interval = 2s\n") { path throws in
            try RelayConfiguration.resolve(configFile: nil, environment: [
                "MILLIMETRIC_RELAY_CONFIG": path, "MILLIMETRIC_RELAYS": "x", "NOTIFY_SOCKET": "/run/x", "MILLIMETRIC_KEY": "sk_a_b_c",
            ])
        }
        #expect(configuration.flushInterval == .seconds(2))
    }

    @Test func anUnknownKeyInTheFileNamesTheNearestKey() throws {
        try Self.withConfigFile("max_outbox_byte = 1GiB\n") { path throws in
            #expect { try RelayConfiguration.resolve(configFile: path, environment: [:]) } throws: { error in
                "\(error)".contains(":1: unknown key `max_outbox_byte`; did you mean `max_outbox_bytes`?")
            }
        }
        #expect(NearestKey.suggestion(for: "colour", among: RelayConfiguration.Key.allCases.map(\.rawValue)) == nil)
    }

    @Test func defaultsFollowSystemdsDirectories() throws {
        let configuration = try RelayConfiguration.resolve(configFile: nil, environment: ["RUNTIME_DIRECTORY": "/run/x", "STATE_DIRECTORY": "/var/lib/x"])
        #expect(configuration.socketPath == "/run/x/ingest.sock")
        #expect(configuration.databasePath == "/var/lib/x/outbox.sqlite")
        #expect(configuration.host == "https://api.millimetric.ai")
        #expect(configuration.synchronous == .full)
        #expect(configuration.maxOutboxBytes == 1 << 30)
        #expect(configuration.maxLineBytes == 65_536)
    }

    @Test func anUnknownKeyOrABadValueNamesTheLineOrTheSource() throws {
        try Self.withConfigFile("state_dir = /x\nflush_intervall = 1s\n") { path throws in
            #expect { try RelayConfiguration.resolve(configFile: path, environment: [:]) } throws: { error in
                "\(error)".contains(":2: unknown key `flush_intervall`")
            }
        }
        #expect { try RelayConfiguration.resolve(configFile: nil, environment: ["MILLIMETRIC_RELAY_SYNCHRONOUS": "sometimes"]) } throws: { error in
            "\(error)".contains("synchronous from MILLIMETRIC_RELAY_SYNCHRONOUS: expected `full` or `normal`")
        }
        #expect { try RelayConfiguration.resolve(configFile: nil, environment: ["MILLIMETRIC_RELAY_METRICS_LISTEN": "0.0.0.0:9464"]) } throws: { error in
            "\(error)".contains("loopback")
        }
        #expect { try RelayConfiguration.resolve(configFile: nil, environment: ["MILLIMETRIC_RELAY_MAX_LINE_BYTES": "1MiB"]) } throws: { error in
            "\(error)".contains("must fit in one 256 KB batch body")
        }
        #expect(try RelayConfiguration.resolve(configFile: nil, environment: ["MILLIMETRIC_RELAY_MAX_LINE_BYTES": "255KiB"]).maxLineBytes == 261_120)
    }

    @Test func theKeyIsLookedUpInTheDocumentedOrder() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("creds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "sk_test_credential_1".write(to: directory.appendingPathComponent("millimetric-key"), atomically: true, encoding: .utf8)
        let flagFile = directory.appendingPathComponent("flag-key").path
        try "sk_test_flag_2".write(toFile: flagFile, atomically: true, encoding: .utf8)
        let configuration = RelayConfiguration(environment: [:])
        let environment = ["CREDENTIALS_DIRECTORY": directory.path, "MILLIMETRIC_KEY": "sk_test_env_3"]
        #expect(try RelayConfiguration.loadKey(keyFileFlag: flagFile, configuration: configuration, environment: environment).source.hasPrefix("--key-file"))
        #expect(try RelayConfiguration.loadKey(keyFileFlag: nil, configuration: configuration, environment: environment).source.hasPrefix("credential"))
        #expect(try RelayConfiguration.loadKey(keyFileFlag: nil, configuration: configuration, environment: ["MILLIMETRIC_KEY": "sk_test_env_3"]).source == "MILLIMETRIC_KEY")
        #expect(throws: ConfigurationError.self) { try RelayConfiguration.loadKey(keyFileFlag: nil, configuration: configuration, environment: [:]) }
    }
}
