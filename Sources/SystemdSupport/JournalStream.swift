import Glibc

/// Tells whether a file descriptor is connected to the journal, as systemd.exec(5) describes.
///
/// For a service whose stdout/stderr go to the journal, systemd sets `JOURNAL_STREAM` to
/// `<device>:<inode>` of that stream. Comparing it with `fstat(2)` of stderr is how a program
/// knows it may log natively: the variable alone is not enough, because a child started from
/// a shell inside the service (or a redirect such as `2>file`) inherits it while its stderr
/// goes elsewhere.
public struct JournalStream: Sendable, Hashable {
    /// The environment variable systemd sets for services that log to the journal.
    public static let environmentVariable = "JOURNAL_STREAM"

    public let device: UInt64
    public let inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    /// Parses `JOURNAL_STREAM`'s `<device>:<inode>` (two decimal numbers); `nil` if malformed.
    public init?(environmentValue: String) {
        let parts = environmentValue.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return nil }
        self.init(device: device, inode: inode)
    }

    /// The device and inode behind `descriptor`, or `nil` if `fstat` fails (e.g. it is closed).
    public init?(descriptor: Int32) {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return nil }
        self.init(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }

    /// Whether stderr is the journal stream systemd announced in `environment`
    /// (`JOURNAL_STREAM` present, well-formed, and naming stderr's device and inode).
    public static func isStandardErrorJournal(environment: [String: String]) -> Bool {
        guard let value = environment[environmentVariable], let announced = JournalStream(environmentValue: value),
              let actual = JournalStream(descriptor: STDERR_FILENO)
        else { return false }
        return announced == actual
    }
}
