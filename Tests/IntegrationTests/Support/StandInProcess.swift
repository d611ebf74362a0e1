import Foundation
import RelayTestKit

/// The integration tests' way to start the kit's ``StandInProcess``: the debug build next to
/// the test bundle, one per test, so tests stay independent and can run in parallel.
///
/// ```swift
/// let api = try StandInProcess(arguments: ["--no-rate-limits"])
/// defer { api.stop() }
/// // point the relay at api.baseURL …
/// try api.setFaults(["down": true])
/// let log = try api.log()
/// ```
extension StandInProcess {
    convenience init(arguments: [String] = []) throws {
        try self.init(executable: Self.executablePath(), arguments: arguments)
    }

    /// Runs the stand-in with `arguments` to completion and returns its exit status (for
    /// testing the command line itself, e.g. that a non-loopback `--host` exits 64).
    static func exitStatus(arguments: [String]) throws -> Int32 {
        try ChildProcess.run(executablePath(), arguments).status
    }

    /// The built `millimetric-api-standin` next to the test bundle; `MILLIMETRIC_API_STANDIN`
    /// overrides.
    static func executablePath() throws -> String {
        try TestExecutables.find(named: "millimetric-api-standin").path
    }
}
