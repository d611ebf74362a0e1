import ArgumentParser
import Foundation
import Logging
@_spi(Testing) import MillimetricRelay
import PowerCutVFS
import RelayTestKit

/// Issue 14, "evidence against power loss": runs the real outbox writer (group commit,
/// settlements, forgets) through a crash-simulating SQLite VFS, cuts the power at a random
/// write, sync or truncate, and checks the disk image as it could be after the power loss:
/// every acked event present and byte-for-byte intact, nothing that was never submitted, a
/// sound database, and no purged row back after an acked forget.
@main
struct PowerCutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "powercut",
        abstract: "Cut the power under the outbox's load, cycle after cycle, and check what the disk kept.",
        discussion: "The last line is `powercut: synchronous=MODE cycles=N acked=A lost=L corrupt=C resurrected=R`; the exit status is 1 when anything acked was lost or corrupt or a forgotten row came back.")

    @Option(help: "Power cuts to simulate.")
    var cycles = 200

    @Option(help: "The outbox's durability: full (the default), normal, or off (not a relay setting: shows the test failing).")
    var synchronous: SynchronousSetting = .full

    /// `--seed` replays the cut points, the load and the disk's fates; `--work-dir` is where
    /// the cycles' files go (default: /dev/shm, where a real fsync costs nothing; the VFS
    /// simulates durability).
    @OptionGroup var evidence: EvidenceRunOptions

    @Flag(help: "Release each group's acks before its commit (deliberately broken ack order): the run must fail.")
    var breakAckOrder = false

    @Option(help: "Clients of the outbox per cycle.")
    var producers = 3

    @Option(help: "Submissions per client per cycle (one to four events, or a forget).")
    var submissions = 30

    @Flag(help: "Let the relay create its outbox in each cycle, through the VFS (its first start), instead of starting from one made earlier.")
    var freshOutbox = false

    @Flag(help: "Print every cycle.")
    var verbose = false

    mutating func run() throws {
        let seed = evidence.resolvedSeed()
        let vfsName = "powercut"
        guard powercut_vfs_register(vfsName) == 0 else { throw ValidationError("cannot register the VFS") }
        var logger = Logger(label: "powercut")
        logger.logLevel = .critical  // the writer logs every commit that fails after the cut

        let base = evidence.workDir ?? (FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory())
        let root = base + "/mmr-powercut-\(getpid())"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }

        // The outbox as an earlier clean run of the relay leaves it: made, migrated, closed.
        let template = root + "/template.db"
        try OutboxWriter(path: template, synchronous: .full, maximumBytes: 1 << 40, logger: logger).close()

        let cycle = PowerCutCycle(
            settings: .init(
                mode: synchronous, releasesAcksBeforeCommit: breakAckOrder, producers: producers,
                submissionsPerProducer: submissions, vfsName: vfsName, template: freshOutbox ? nil : template, directory: root + "/cycle"),
            logger: logger)
        print("powercut: synchronous=\(synchronous.rawValue) cycles=\(cycles) seed=\(seed)\(breakAckOrder ? " acks released BEFORE the commit (broken on purpose)" : "")\(freshOutbox ? " outbox created in each cycle" : "")")

        // A first cycle without a cut measures how many operations a cycle's load makes, so
        // that the cut points spread over the whole load (plus an eighth: cuts while idle).
        var random = SplitMix64(seed: seed)
        var estimate = max(try cycle.run(seed: random.next(), cutAtOperation: 0).operations, 1)

        var totals = Totals()
        let started = ContinuousClock.now
        for index in 1...max(cycles, 1) {
            let cutAt = Int64.random(in: 1...(estimate + estimate / 8), using: &random)
            let result = try cycle.run(seed: random.next(), cutAtOperation: cutAt)
            if !result.cutDuringLoad { estimate = max(estimate, result.operations) }
            totals.add(result)
            let verdict = result.verdict
            let failed = verdict.lost + verdict.corrupt + verdict.resurrected > 0
            if verbose || (failed && totals.cyclesPrinted < 10) {
                totals.cyclesPrinted += failed ? 1 : 0
                print("cycle \(index): cut at operation \(cutAt) of ~\(estimate)\(result.cutDuringLoad ? "" : " (idle)"): acked=\(result.acked) lost=\(verdict.lost) corrupt=\(verdict.corrupt) resurrected=\(verdict.resurrected) unsynced writes=\(result.image.unsyncedWrites) dropped=\(result.image.writesDropped) torn=\(result.image.writesTorn) files vanished=\(result.image.filesVanished)")
                for note in verdict.notes.prefix(5) { print("  \(note)") }
            }
            if index % 100 == 0 {
                print("powercut: \(index) cycles, acked=\(totals.acked) lost=\(totals.lost) corrupt=\(totals.corrupt) resurrected=\(totals.resurrected) (\(ContinuousClock.now - started))")
            }
        }
        print("powercut: cuts during the load=\(totals.cutsDuringLoad) while idle=\(totals.cutsWhileIdle); cycles that lost acked events=\(totals.lossyCycles), most lost in one cut=\(totals.mostLostInOneCut), mean lost per cut=\(String(format: "%.2f", Double(totals.lost) / Double(max(cycles, 1)))); unsynced writes at the cuts=\(totals.unsyncedWrites) (dropped \(totals.writesDropped), torn \(totals.writesTorn)), files vanished=\(totals.filesVanished)")
        print("powercut: synchronous=\(synchronous.rawValue) cycles=\(max(cycles, 1)) acked=\(totals.acked) lost=\(totals.lost) corrupt=\(totals.corrupt) resurrected=\(totals.resurrected)")
        if totals.lost + totals.corrupt + totals.resurrected > 0 { throw ExitCode(1) }
    }
}

/// The run's sums.
struct Totals {
    var acked = 0
    var lost = 0
    var corrupt = 0
    var resurrected = 0
    var cutsDuringLoad = 0
    var cutsWhileIdle = 0
    var lossyCycles = 0
    var mostLostInOneCut = 0
    var unsyncedWrites: Int64 = 0
    var writesDropped: Int64 = 0
    var writesTorn: Int64 = 0
    var filesVanished: Int64 = 0
    var cyclesPrinted = 0

    mutating func add(_ result: PowerCutCycle.Result) {
        acked += result.acked
        lost += result.verdict.lost
        corrupt += result.verdict.corrupt
        resurrected += result.verdict.resurrected
        if result.cutDuringLoad { cutsDuringLoad += 1 } else { cutsWhileIdle += 1 }
        if result.verdict.lost > 0 { lossyCycles += 1 }
        mostLostInOneCut = max(mostLostInOneCut, result.verdict.lost)
        unsyncedWrites += result.image.unsyncedWrites
        writesDropped += result.image.writesDropped
        writesTorn += result.image.writesTorn
        filesVanished += result.image.filesVanished
    }
}
