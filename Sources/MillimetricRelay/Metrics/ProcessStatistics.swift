import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// The numbers behind the standard `process_*` metrics every Prometheus exporter serves (memory,
/// CPU, file descriptors, start time), read from `/proc` when the endpoint is scraped.
///
/// Operators graph and alert on these for every daemon alike (a restart shows as a new
/// `process_start_time_seconds`, a descriptor leak as `process_open_fds` creeping towards
/// `process_max_fds`), so the relay uses the same names and meanings as the Go and Python clients.
struct ProcessStatistics: Sendable, Equatable {
    var residentMemoryBytes: Double
    var virtualMemoryBytes: Double
    var cpuSeconds: Double
    var startTimeSeconds: Double
    var openFileDescriptors: Int?
    var maximumFileDescriptors: Int?

    /// The fields of `/proc/<pid>/stat` that the metrics need, and what turns them into units.
    /// (`duplicates` pairs it with ImportProgressFile: two unrelated records of five fields.)
    struct StatFields: Sendable, Equatable {
        var userTicks: Double
        var systemTicks: Double
        var startTicks: Double
        var virtualBytes: Double
        var residentPages: Double
    }

    /// The system's boot time in seconds since the epoch: the `btime` line of `/proc/stat`.
    static func bootTime(procStat: String) -> Double? {
        for line in procStat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(String(line.dropFirst("btime ".count)).trimmingWhitespace())
        }
        return nil
    }

    init(stat: StatFields, bootTime: Double, clockTicksPerSecond: Double, pageSize: Double, openFileDescriptors: Int?, maximumFileDescriptors: Int?) {
        residentMemoryBytes = stat.residentPages * pageSize
        virtualMemoryBytes = stat.virtualBytes
        cpuSeconds = (stat.userTicks + stat.systemTicks) / clockTicksPerSecond
        startTimeSeconds = bootTime + stat.startTicks / clockTicksPerSecond
        self.openFileDescriptors = openFileDescriptors
        self.maximumFileDescriptors = maximumFileDescriptors
    }

    /// The boot time, read once so that `process_start_time_seconds` never moves while the
    /// process lives (alert rules count its changes as restarts). The unit's `ProcSubset=pid`
    /// hides `/proc/stat`; then it comes from the clocks, rounded to the second as `btime` is.
    static let systemBootTime: Double? = {
        if let procStat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8), let bootTime = bootTime(procStat: procStat) {
            return bootTime
        }
        return bootTimeFromClocks()
    }()

    /// Now on the wall clock minus the time since boot (`CLOCK_BOOTTIME`), to the second.
    static func bootTimeFromClocks() -> Double? {
        var sinceBoot = timespec()
        var now = timespec()
        guard clock_gettime(CLOCK_BOOTTIME, &sinceBoot) == 0, clock_gettime(CLOCK_REALTIME, &now) == 0 else { return nil }
        let seconds = (Double(now.tv_sec) - Double(sinceBoot.tv_sec)) + (Double(now.tv_nsec) - Double(sinceBoot.tv_nsec)) / 1e9
        return seconds.rounded()
    }

    /// Reads this process's statistics, or nil where `/proc/self` is not available.
    static func current() -> ProcessStatistics? {
        guard let statLine = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let stat = StatFields(stat: statLine),
            let bootTime = systemBootTime
        else { return nil }
        return ProcessStatistics(
            stat: stat, bootTime: bootTime, clockTicksPerSecond: Double(sysconf(Int32(_SC_CLK_TCK))),
            pageSize: Double(sysconf(Int32(_SC_PAGESIZE))), openFileDescriptors: openDescriptorCount(),
            maximumFileDescriptors: descriptorLimit())
    }

    /// The entries of `/proc/self/fd`, not counting the one this listing opens.
    private static func openDescriptorCount() -> Int? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] == UInt8(ascii: ".") && (name[1] == 0 || (name[1] == UInt8(ascii: ".") && name[2] == 0))
            }
            if !isDot { count += 1 }
        }
        return max(0, count - 1)
    }

    private static func descriptorLimit() -> Int? {
        var limit = rlimit()
        // RLIM_INFINITY is all ones, which Swift cannot import as a constant.
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        return Int(clamping: limit.rlim_cur)
    }
}

extension ProcessStatistics.StatFields {
    /// Parses a `/proc/<pid>/stat` line.
    ///
    /// The second field is the command name in parentheses, which may itself hold spaces and
    /// parentheses, so fields are counted from the last `)` (proc(5)): utime is field 14,
    /// stime 15, starttime 22, vsize 23 and rss 24.
    init?(stat: String) {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // fields[0] is field 3 (state), so field N is fields[N - 3].
        func field(_ number: Int) -> Double? {
            number - 3 < fields.count ? Double(fields[number - 3]) : nil
        }
        guard let user = field(14), let system = field(15), let start = field(22), let virtual = field(23), let resident = field(24)
        else { return nil }
        self.init(userTicks: user, systemTicks: system, startTicks: start, virtualBytes: virtual, residentPages: resident)
    }
}
