import Foundation
import Logging
@_spi(Testing) import MillimetricRelay
import PowerCutVFS
import RelayTestKit

/// One cycle: the outbox (copied from a template, as after an earlier clean run, or with
/// `--fresh-outbox` created in the cycle, as at the relay's first start) opened through
/// the crash-simulating VFS, producers loading it until the power is cut at the armed
/// operation (or, when the load ends first, while it is idle), then the disk image as after the
/// power loss opened with the relay's normal start-up code and judged against the ledger.
struct PowerCutCycle {
    struct Settings: Sendable {
        var mode: SynchronousSetting
        var releasesAcksBeforeCommit: Bool
        var producers: Int
        var submissionsPerProducer: Int
        var vfsName: String
        /// The outbox to start from; nil: the relay creates it in the cycle (its first start).
        var template: String?
        var directory: String
    }

    struct Result: Sendable {
        var acked = 0
        var verdict = Verdict()
        var cutDuringLoad = false
        var operations: Int64 = 0
        var image = PowerCutImageStatistics()
    }

    let settings: Settings
    let logger: Logger

    func run(seed: UInt64, cutAtOperation: Int64) throws -> Result {
        let fileManager = FileManager.default
        let live = settings.directory + "/live"
        let image = settings.directory + "/image"
        try? fileManager.removeItem(atPath: settings.directory)
        try fileManager.createDirectory(atPath: live, withIntermediateDirectories: true)
        try fileManager.createDirectory(atPath: image, withIntermediateDirectories: true)
        if let template = settings.template {
            try fileManager.copyItem(atPath: template, toPath: live + "/outbox.db")
        }

        var result = Result()
        let ledger = Ledger()
        powercut_vfs_reset(seed, cutAtOperation)
        let hooks = OutboxTestHooks(
            vfs: settings.vfsName, sqlAfterOpen: settings.mode.sqlAfterOpen,
            releasesAcksBeforeCommit: settings.releasesAcksBeforeCommit,
            directorySynced: { powercut_vfs_directory_synced($0) })
        do {
            let writer = try OutboxWriter(
                path: live + "/outbox.db", synchronous: settings.mode.relayMode, maximumBytes: 1 << 40, logger: logger,
                testHooks: hooks)
            var random = SplitMix64(seed: seed ^ 0x5EED)
            let producers = (0..<settings.producers).map { index in
                Producer(
                    name: "s\(seed)-p\(index)", writer: writer, ledger: ledger,
                    submissions: settings.submissionsPerProducer, seed: random.next())
            }
            let done = DispatchGroup()
            for producer in producers {
                done.enter()
                let thread = Thread {
                    var producer = producer
                    producer.run()
                    done.leave()
                }
                thread.start()
            }
            done.wait()
            result.cutDuringLoad = powercut_vfs_is_cut() != 0
            result.operations = powercut_vfs_operations()
            powercut_vfs_cut()
            writer.close()
        } catch {
            // The power went before the outbox could even open: nothing was acked.
            result.cutDuringLoad = true
            result.operations = powercut_vfs_operations()
            powercut_vfs_cut()
        }
        guard powercut_vfs_write_image(image, &result.image) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: image])
        }
        result.acked = ledger.ackedCount
        result.verdict = check(image: image + "/outbox.db", ledger: ledger)
        return result
    }

    /// Opens the image as `run` opens its outbox (recovering the WAL), then reads it apart.
    private func check(image path: String, ledger: Ledger) -> Verdict {
        let writer: OutboxWriter
        do {
            writer = try OutboxWriter(path: path, synchronous: .full, maximumBytes: 1 << 40, logger: logger)
        } catch {
            var verdict = ledger.judge([])
            verdict.corrupt += 1
            verdict.notes.insert("the relay refused to open the image: \(error)", at: 0)
            return verdict
        }
        defer { writer.close() }
        do {
            let reader = try ImageReader(path: path)
            let integrity = try reader.integrityCheck()
            var verdict = ledger.judge(try reader.events())
            if integrity != "ok" {
                verdict.corrupt += 1
                verdict.notes.insert("integrity_check: \(integrity)", at: 0)
            }
            return verdict
        } catch {
            var verdict = ledger.judge([])
            verdict.corrupt += 1
            verdict.notes.insert("the image cannot be read: \(error)", at: 0)
            return verdict
        }
    }
}
