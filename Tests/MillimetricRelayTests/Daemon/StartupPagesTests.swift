import FoundationEssentials
import Testing

@testable import MillimetricRelay

/// Start-up's code pages unmapped once the relay serves (issue #11).
@Suite struct StartupPagesTests {
    /// Only whole pages inside a segment are advised: a page it shares with a writable
    /// neighbour is left alone.
    @Test func segmentsAreRoundedInwardsToWholePages() {
        #expect(StartupPages.wholePages(start: 0x1000, length: 0x3000, pageSize: 0x1000) == 0x1000..<0x4000)
        #expect(StartupPages.wholePages(start: 0x1010, length: 0x3000, pageSize: 0x1000) == 0x2000..<0x4000)
        #expect(StartupPages.wholePages(start: 0x1000, length: 0x2ff0, pageSize: 0x1000) == 0x1000..<0x3000)
        #expect(StartupPages.wholePages(start: 0x1010, length: 0x1ff0, pageSize: 0x1000) == 0x2000..<0x3000)
    }

    @Test func lessThanAWholePageIsNothing() {
        #expect(StartupPages.wholePages(start: 0x1010, length: 0xff0, pageSize: 0x1000) == nil)
        #expect(StartupPages.wholePages(start: 0x1000, length: 0, pageSize: 0x1000) == nil)
        #expect(StartupPages.wholePages(start: UInt.max - 0x10, length: 0x100, pageSize: 0x1000) == nil)
    }

    /// This test process, for real: its file-backed resident memory goes down, and it keeps
    /// running on the code it faults back in.
    @Test func releasingLowersThisProcesssFileBackedResidentMemory() throws {
        let before = try #require(Self.residentFileKilobytes())
        let released = try #require(StartupPages.release())
        let after = try #require(Self.residentFileKilobytes())
        #expect(released.segments > 0)
        #expect(after < before - 1024, "RssFile \(before) kB before, \(after) kB after")
        // The writable data of the objects is untouched (a mistake there would crash here).
        #expect(Self.residentFileKilobytes() != nil)
    }

    /// `RssFile:` of `/proc/self/status`.
    static func residentFileKilobytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("RssFile:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
        }
        return nil
    }
}
