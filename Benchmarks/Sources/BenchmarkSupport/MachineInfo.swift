import Foundation

/// One line about the machine and the build, printed above every report.
public enum MachineInfo {
    public static func summary(binaries: Binaries) -> String {
        var uts = utsname()
        uname(&uts)
        let release = withUnsafeBytes(of: &uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let date = ISO8601DateFormatter().string(from: Date())
        return
            "\(date); \(ProcessInfo.processInfo.activeProcessorCount) CPUs, Linux \(release), SQLite \(BareSQLite.libraryVersion); relay \(binaries.relay)"
    }
}
