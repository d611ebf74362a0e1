import Testing

@testable import MillimetricRelay

/// `RelayConfiguration.value(for:)` and `ConfigurationFile.line(key:value:)` print what the
/// parsers read back unchanged (the configuration fuzzer checks this on arbitrary input).
@Suite struct ConfigurationPrintingTests {
    @Test(arguments: [
        (RelayConfiguration.Key.maxOutboxBytes, "500MB", "500MiB"),
        (.maxOutboxBytes, "1025", "1025"),
        (.maxLineBytes, "65536", "64KiB"),
        (.flushInterval, "1.5s", "1500ms"),
        (.requestTimeout, "2m", "120s"),
        (.socketMode, "660", "0660"),
        (.forgetAllowedUIDs, "998,0 998", "0, 998"),
        (.forgetAllowedUIDs, " * ", "*"),
        (.metricsListen, "", "off"),
        (.logLevel, "DEBUG", "debug"),
        (.batchRate, "0x1p-2", "0.25"),
        (.keyFile, "", ""),
    ])
    func aValuePrintsCanonicallyAndSetsTheSameAgain(key: RelayConfiguration.Key, value: String, printed: String) throws {
        var configuration = RelayConfiguration(environment: [:])
        try configuration.set(key, value, source: "test")
        #expect(configuration.value(for: key) == printed)
        var again = RelayConfiguration(environment: [:])
        try again.set(key, printed, source: "printed")
        #expect(again == configuration)
    }

    @Test func theDefaultsPrintBackToThemselves() throws {
        let defaults = RelayConfiguration(environment: [:])
        var again = defaults
        for key in RelayConfiguration.Key.allCases {
            try again.set(key, defaults.value(for: key), source: "printed")
        }
        #expect(again == defaults)
    }

    @Test(arguments: [" spaced ", "a#b", "\"quoted\"", "x\"#y", "'", ""])
    func aFileLineReadsBackAsItsValue(value: String) throws {
        let line = try #require(ConfigurationFile.line(key: "proxy", value: value))
        #expect(try ConfigurationFile.parse(line + "\n", path: "t.conf") == ["proxy": value])
    }

    @Test func aValueWithBothKindsOfHashCannotBeWritten() {
        // One `#` after an even number of `"`, one after an odd number: no quoting keeps both.
        #expect(ConfigurationFile.line(key: "proxy", value: "a#b\"#c") == nil)
        #expect(ConfigurationFile.line(key: "proxy", value: "a\nb") == nil)
    }
}
