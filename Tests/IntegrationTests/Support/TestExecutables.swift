import Foundation

/// Finds the package's built executables next to the test bundle (`.build*/debug` or
/// `release`), walking up from the test runner; `MILLIMETRIC_<NAME>` (upper case, `-` as `_`)
/// overrides, e.g. `MILLIMETRIC_RELAY=/usr/local/bin/millimetric-relay`.
enum TestExecutables {
    static func find(named name: String) throws -> URL {
        let variable = name.uppercased().replacingOccurrences(of: "-", with: "_")
        if let path = ProcessInfo.processInfo.environment[variable] {
            return URL(fileURLWithPath: path)
        }
        let starts = [
            Bundle.main.bundleURL,
            URL(fileURLWithPath: CommandLine.arguments.first ?? "."),
            URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath(),
        ]
        for start in starts {
            var directory = start.standardizedFileURL
            while directory.path != "/" && !directory.path.isEmpty {
                let candidate = directory.appendingPathComponent(name)
                if FileManager.default.isExecutableFile(atPath: candidate.path) {
                    return candidate
                }
                directory = directory.deletingLastPathComponent()
            }
        }
        throw RelayFailure("\(name) not found next to the test bundle; build it first (swift build)")
    }
}
