import CSystemd
import Glibc

/// Writes entries to the systemd journal through its native protocol (`sd_journal_sendv(3)`).
///
/// Unlike a line on stderr, a native entry carries its own `PRIORITY=` (so `journalctl -p err`
/// works), any number of structured fields, and no second timestamp. libsystemd sends one
/// datagram to `/run/systemd/journal/socket` per entry (or passes a memfd for a large one); it
/// keeps one socket open per process and is safe to call from any thread, so the type has no
/// state and is `Sendable`.
///
/// The call can block briefly if journald is slow to drain its socket, as writing to stderr
/// can; the relay's log volume at `info` is a few lines per minute.
public struct Journal: Sendable {
    public init() {}

    /// Sends one entry. Throws ``SystemdError/Code/journalSendFailed`` if libsystemd could not
    /// deliver it (no journald socket, refused, out of memory); the caller decides whether to
    /// fall back to stderr.
    public func send(_ fields: [JournalField]) throws(SystemdError) {
        // Each field becomes "NAME=value" in one contiguous buffer; the iovecs point into it.
        var buffer: [UInt8] = []
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(fields.count)
        for field in fields {
            let start = buffer.count
            buffer.append(contentsOf: field.name.rawValue.utf8)
            buffer.append(UInt8(ascii: "="))
            buffer.append(contentsOf: field.value.utf8)
            ranges.append(start..<buffer.count)
        }
        let result = buffer.withUnsafeMutableBytes { bytes -> Int32 in
            var vectors = ranges.map { range in
                iovec(iov_base: bytes.baseAddress.map { $0 + range.lowerBound }, iov_len: range.count)
            }
            // sd_journal_sendv only reads the buffers; they stay valid for the whole call.
            return sd_journal_sendv(&vectors, Int32(vectors.count))
        }
        guard result >= 0 else {
            throw SystemdError(code: .journalSendFailed, errno: -result, message: "sd_journal_sendv failed")
        }
    }
}
