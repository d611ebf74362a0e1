import Foundation

/// Memory figures of a live process from `/proc/PID/status`, in kB.
public enum ProcStatus {
    /// Peak resident set size (`VmHWM`).
    public static func peakRSSKilobytes(pid: Int32?) -> Int? { field("VmHWM", pid: pid) }

    /// Current resident set size (`VmRSS`).
    public static func rssKilobytes(pid: Int32?) -> Int? { field("VmRSS", pid: pid) }

    /// Resets the peak (`VmHWM`) to the current RSS by writing 5 to `/proc/PID/clear_refs`
    /// (Linux ≥ 4.0; our own child, same user). False when the kernel refused.
    @discardableResult
    public static func resetPeakRSS(pid: Int32?) -> Bool {
        guard let pid else { return false }
        guard let handle = FileHandle(forWritingAtPath: "/proc/\(pid)/clear_refs") else { return false }
        defer { try? handle.close() }
        do {
            try handle.write(contentsOf: Data("5".utf8))
            return true
        } catch {
            return false
        }
    }

    /// User + system CPU seconds so far (`/proc/PID/stat` fields 14 and 15).
    public static func cpuSeconds(pid: Int32?) -> Double? {
        guard let pid else { return nil }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3); utime and stime are fields 14 and 15.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    private static func field(_ name: String, pid: Int32?) -> Int? {
        guard let pid else { return nil }
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            return Int(line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        }
        return nil
    }
}
