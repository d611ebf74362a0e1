import Foundation
import RelayTestKit
import Testing

/// The configuration sources in their documented order (README "Configuration"), through the
/// real binary: what `check-config` and `run` make of the environment and the file.
@Suite struct ConfigurationSourceTests {
    @Test func aMisspeltRelayVariableFailsCheckConfigAndRunWith78NamingTheNearestKey() throws {
        let relay = try RelayProcess(start: false)
        relay.environment["MILLIMETRIC_RELAY_FLUSH_INTERVALL"] = "1s"
        let (checkStatus, checkOutput) = try relay.runCLI(["check-config", "--state-dir", relay.stateDirectory])
        #expect(checkStatus == 78, "\(checkOutput)")
        #expect(checkOutput.contains("MILLIMETRIC_RELAY_FLUSH_INTERVALL; did you mean MILLIMETRIC_RELAY_FLUSH_INTERVAL?"), "\(checkOutput)")
        let (runStatus, runOutput) = try relay.runToExit()
        #expect(runStatus == 78)
        #expect(runOutput.contains("did you mean MILLIMETRIC_RELAY_FLUSH_INTERVAL?"))
    }

    @Test func millimetricHostBeatsTheConfigFilesHost() throws {
        let relay = try RelayProcess(host: "http://127.0.0.1:7001", start: false)
        let file = relay.directory.appendingPathComponent("relay.conf")
        try "host = http://127.0.0.1:7002\n".write(to: file, atomically: true, encoding: .utf8)
        let (status, output) = try relay.runCLI(["check-config", "--config", file.path, "--state-dir", relay.stateDirectory])
        #expect(status == 0, "\(output)")
        #expect(output.contains("host http://127.0.0.1:7001"), "\(output)")
    }
}
