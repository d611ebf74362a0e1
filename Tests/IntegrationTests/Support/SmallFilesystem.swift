import Foundation

/// A tmpfs of a few MiB mounted on a test's state directory, to fill the disk under the outbox
/// for real (ENOSPC, which SQLite answers with SQLITE_FULL).
///
/// Mounting needs root and a kernel that lets this process mount (CI runs as root; a container
/// may refuse): ``isAvailable`` tries once, on a scratch directory, and tests that need a mount
/// are disabled with that reason when it fails.
enum SmallFilesystem {
    /// Whether `mount -t tmpfs` works here.
    static let isAvailable: Bool = {
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent("mmr-mount-probe-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard (try? run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", probe])) == 0 else {
            print("disk-full test: cannot mount a tmpfs here (needs root and mount permission); only the page-limit variant runs")
            return false
        }
        _ = try? run("/bin/umount", [probe])
        return true
    }()

    static func mount(_ directory: String, megabytes: Int) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let status = try run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m,mode=0755", "tmpfs", directory])
        guard status == 0 else { throw RelayFailure("mount -t tmpfs on \(directory) exited with \(status)") }
    }

    /// Gives the mounted tmpfs more room, keeping its files: "space returns".
    static func grow(_ directory: String, megabytes: Int) throws {
        let status = try run("/bin/mount", ["-o", "remount,size=\(megabytes)m", directory])
        guard status == 0 else { throw RelayFailure("remounting \(directory) exited with \(status)") }
    }

    /// Unmounts, lazily if something still holds a file there.
    static func unmount(_ directory: String) {
        if (try? run("/bin/umount", [directory])) != 0 {
            _ = try? run("/bin/umount", ["-l", directory])
        }
    }

    @discardableResult
    private static func run(_ executable: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
