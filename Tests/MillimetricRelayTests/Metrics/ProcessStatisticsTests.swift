import Foundation
import Testing

@testable import MillimetricRelay

/// The `process_*` metrics from /proc (issue 17).
@Suite struct ProcessStatisticsTests {
    /// A real line from `cat /proc/self/stat`, with a command name holding a space and a `)`.
    static let stat = "4242 (millimetric) re) S 1 4242 4242 0 -1 4194560 1540 0 0 0 250 130 0 0 20 0 9 0 123456 1165176832 11017 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0"

    @Test func theStatLineIsReadFromTheLastParenthesis() throws {
        let fields = try #require(ProcessStatistics.StatFields(stat: Self.stat))
        #expect(fields == ProcessStatistics.StatFields(userTicks: 250, systemTicks: 130, startTicks: 123456, virtualBytes: 1165176832, residentPages: 11017))
    }

    @Test func ticksAndPagesBecomeSecondsAndBytes() throws {
        let fields = try #require(ProcessStatistics.StatFields(stat: Self.stat))
        let statistics = ProcessStatistics(
            stat: fields, bootTime: 1_700_000_000, clockTicksPerSecond: 100, pageSize: 4096, openFileDescriptors: 12, maximumFileDescriptors: 1024)
        #expect(statistics.cpuSeconds == 3.8)
        #expect(statistics.startTimeSeconds == 1_700_000_000 + 1234.56)
        #expect(statistics.residentMemoryBytes == 11017 * 4096)
        #expect(statistics.virtualMemoryBytes == 1165176832)
    }

    @Test func aTruncatedOrForeignLineIsRefused() {
        #expect(ProcessStatistics.StatFields(stat: "4242 (x) S 1 2 3") == nil)
        #expect(ProcessStatistics.StatFields(stat: "no parenthesis here") == nil)
    }

    @Test func bootTimeIsTheBtimeLine() {
        #expect(ProcessStatistics.bootTime(procStat: "cpu  1 2 3\nintr 5\nbtime 1795900000\nprocesses 9\n") == 1_795_900_000)
        #expect(ProcessStatistics.bootTime(procStat: "cpu 1\n") == nil)
    }

    /// The unit's `ProcSubset=pid` hides /proc/stat: the clocks give the same boot time.
    @Test func theClocksGiveTheBootTimeThatProcStatHas() throws {
        let procStat = try String(contentsOfFile: "/proc/stat", encoding: .utf8)
        let btime = try #require(ProcessStatistics.bootTime(procStat: procStat))
        let fromClocks = try #require(ProcessStatistics.bootTimeFromClocks())
        #expect(abs(btime - fromClocks) <= 2)
    }

    /// Read once: the start time does not wander between scrapes.
    @Test func theStartTimeIsTheSameAtEveryRead() throws {
        let first = try #require(ProcessStatistics.current())
        let second = try #require(ProcessStatistics.current())
        #expect(first.startTimeSeconds == second.startTimeSeconds)
    }

    /// This test process, read for real: started before now and after boot, using memory, CPU
    /// and descriptors.
    @Test func thisProcessReadsSensibly() throws {
        let statistics = try #require(ProcessStatistics.current())
        let now = Date().timeIntervalSince1970
        #expect(statistics.startTimeSeconds <= now + 1)
        #expect(statistics.startTimeSeconds > now - 86_400 * 365)
        #expect(statistics.residentMemoryBytes > 1_000_000)
        #expect(statistics.virtualMemoryBytes >= statistics.residentMemoryBytes)
        #expect(statistics.cpuSeconds > 0)
        let open = try #require(statistics.openFileDescriptors)
        #expect(open >= 3)
        if let maximum = statistics.maximumFileDescriptors { #expect(maximum >= open) }
    }
}
