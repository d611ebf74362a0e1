import FoundationEssentials
import Glibc
import MillimetricRelay

/// The sending side of an ``ImportSession``, on the importing thread: splits the input into
/// lines, skips what a resumed run already had acknowledged (checking the input is the same),
/// stamps ids, and writes the lines at most one window ahead of their acks.
///
/// Lines go out in writes of up to 64 KiB, not one system call each; the buffer is flushed
/// before waiting for acks and after each chunk read, so nothing lingers. Their entries are
/// handed to the ack reader in the same step (one lock per write, not per line), before the
/// bytes go, so that no ack can arrive before its entry.
struct ImportSender {
    private let session: ImportSession
    private let client: IngestClient
    private let window: Int
    /// Once full, the window waits for this much room, so that the sender wakes once per read
    /// of acks rather than once per ack.
    private let resumeRoom: Int
    private let resume: ImportProgressFile?

    private(set) var linesRead = 0
    /// The connection broke (or the relay refused the hello): nothing more can go.
    var broken = false
    /// The input is not the one the progress file was written for.
    private(set) var mismatch = false
    private var sha = SHA1()
    private var contentBytes: Int64 = 0
    private var output: [UInt8] = []
    private var unpublished: [ImportSession.Pending] = []
    /// The texts of `unpublished`, one after the other: published as one chunk, the number
    /// `textChunk` (counted from the first).
    private var unpublishedText: [UInt8] = []
    private var textChunk = 0
    /// Lines handed over (published or not) and the acks known to the sender: the window is
    /// checked without the lock, which is taken only when it looks full.
    private var sent = 0
    private var knownAcknowledged = 0
    private var partialLine: [UInt8] = []

    var stopped: Bool { broken || mismatch }

    init(session: ImportSession, client: IngestClient, window: Int, resume: ImportProgressFile?) {
        self.session = session
        self.client = client
        self.window = window
        self.resumeRoom = max(1, window / 8)
        self.resume = resume
        output.reserveCapacity(1 << 17)
    }

    /// One chunk of input: its complete lines are handled, the tail kept for the next chunk.
    mutating func consume(_ raw: UnsafeRawBufferPointer) {
        let base = raw.baseAddress!
        var start = 0
        while start < raw.count, let found = memchr(base + start, 0x0A, raw.count - start) {
            let end = base.distance(to: UnsafeRawPointer(found)) + 1
            if partialLine.isEmpty {
                handle(UnsafeRawBufferPointer(rebasing: raw[start..<end]), newline: true)
            } else {
                partialLine.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[start..<end]))
                let line = partialLine
                line.withUnsafeBytes { handle($0, newline: true) }
                partialLine.removeAll(keepingCapacity: true)
            }
            start = end
            if stopped { return }
        }
        partialLine.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[start..<raw.count]))
    }

    /// The end of the input: a last line without a newline goes too, then everything buffered.
    /// An input shorter than the recorded progress is not the one it was recorded for.
    mutating func finish() {
        if !stopped && !partialLine.isEmpty {
            let line = partialLine
            line.withUnsafeBytes { handle($0, newline: false) }
        }
        flush()
        if let resume, !broken, linesRead < resume.line { mismatch = true }
    }

    /// Hands the buffered entries to the ack reader, then writes the buffered lines.
    mutating func flush() {
        if !unpublished.isEmpty {
            // The session keeps an exact-size copy: the buffer's spare capacity would stay
            // resident with every chunk of the window.
            let chunk = [UInt8](unsafeUninitializedCapacity: unpublishedText.count) { buffer, count in
                count = unpublishedText.withUnsafeBufferPointer { buffer.initialize(fromContentsOf: $0) }
            }
            if !session.publish(unpublished, text: chunk) { broken = true }
            unpublished.removeAll(keepingCapacity: true)
            unpublishedText.removeAll(keepingCapacity: true)
            textChunk += 1
        }
        guard !output.isEmpty else { return }
        if !broken && !client.write(output) { broken = true }
        output.removeAll(keepingCapacity: true)
    }

    /// `line` runs through its newline, if it has one.
    private mutating func handle(_ line: UnsafeRawBufferPointer, newline: Bool) {
        linesRead += 1
        let number = linesRead
        sha.update(line)
        contentBytes += Int64(line.count)
        if let resume, number <= resume.line {
            if number == resume.line && sha.finish().hex != resume.digest { mismatch = true }
            return
        }
        var body = newline ? UnsafeRawBufferPointer(rebasing: line.dropLast()) : line
        if body.last == 0x0D { body = UnsafeRawBufferPointer(rebasing: body.dropLast()) }
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
        if sent - knownAcknowledged >= window && !waitForRoom() { return }
        let digest = sha.digest()
        if ImportEventID.needsID(body) {
            ImportEventID.appendStamped(body, digest: digest, line: number, to: &output)
        } else {
            output.append(contentsOf: body.assumingMemoryBound(to: UInt8.self))
        }
        output.append(0x0A)
        unpublished.append(.init(line: number, digest: digest, bytes: contentBytes, textChunk: textChunk, textStart: unpublishedText.count, textCount: body.count))
        unpublishedText.append(contentsOf: body.assumingMemoryBound(to: UInt8.self))
        sent += 1
        if output.count >= 1 << 16 { flush() }
    }

    /// Sends what is buffered, then waits until the window has room; false if the connection
    /// was lost meanwhile.
    private mutating func waitForRoom() -> Bool {
        flush()
        guard let acknowledged = session.waitForAcknowledgements(atLeast: sent - (window - resumeRoom)) else {
            broken = true
            return false
        }
        knownAcknowledged = acknowledged
        return true
    }
}
