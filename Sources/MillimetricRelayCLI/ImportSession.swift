import Dispatch
import FoundationEssentials
import Glibc
import MillimetricRelay
import Synchronization

/// One input of `import`: reads it line by line, stamps ids, sends the lines on one connection
/// (after a backfill hello, ``IngestHello``) at most `window` ahead of their acks, and matches
/// each ack to its line in order, writing refusals to the rejects file and the last
/// acknowledged line to the progress file.
final class ImportSession: @unchecked Sendable {
    // @unchecked Sendable: two threads share it. `shared` and `rejectsFile` are touched only
    // with `condition` held (the ack reader writes rejects under it), except that `run` closes
    // `rejectsFile` after the ack reader has finished; everything else is immutable.
    enum Result {
        case done(refused: Int)
        case unavailable
        case failed
    }

    /// A line sent and not yet acknowledged.
    private struct Pending {
        var line: Int
        var digest: SHA1.Digest
        var bytes: Int64
        /// The line as read (without the id it may have been given), for the rejects file.
        var text: [UInt8]
    }

    /// Shared between the sending (main) thread and the ack reader; guarded by `condition`.
    private struct Shared {
        var pending: [Pending] = []
        var pendingHead = 0
        /// Lines acknowledged so far (after the hello): the sender's window counts from it.
        var acknowledged = 0
        /// The sender waits for room in the window: the ack reader wakes it once per read of
        /// acks, not once per ack.
        var senderWaiting = false
        /// The digest of `lastAcked.line`, turned into `lastAcked.digest`'s hex only when the
        /// progress file is written (nil: `lastAcked.digest` is current).
        var lastAckedDigest: SHA1.Digest?
        var accepted = 0
        var refused = 0
        var lastAcked: ImportProgressFile
        var helloAnswered = false
        var helloRefusal: String?
        var connectionLost = false
        var ackedSinceSave = 0
        var lastSave = ContinuousClock.now
        var progressError: String?
    }

    /// What `import` asks of one input, from its command line.
    struct Settings {
        var input: String
        var socketPath: String
        var rejectsPath: String
        var progressPath: String?
        /// Lines sent ahead of their acks.
        var window: Int
        /// Ignore the progress file and start from the first line.
        var restart: Bool
    }

    private let settings: Settings
    private let condition = ThreadCondition()
    private var shared: Shared
    private var rejectsFile: UnsafeMutablePointer<FILE>?

    init(settings: Settings) {
        self.settings = settings
        shared = Shared(lastAcked: ImportProgressFile(source: settings.input, line: 0, digest: SHA1().finish().hex, bytes: 0, complete: false))
    }

    func run() -> Result {
        let started = ContinuousClock.now
        var resume: ImportProgressFile?
        if !settings.restart, let progressPath = settings.progressPath, let saved = ImportProgressFile.load(path: progressPath), saved.line > 0 {
            resume = saved
        }
        let source: ImportInput
        do {
            source = try ImportInput(path: settings.input)
        } catch {
            printError("millimetric-relay import: \(error)")
            return .failed
        }
        let client: IngestClient
        do {
            client = try IngestClient(path: settings.socketPath)
        } catch {
            printError("millimetric-relay import: \(error)")
            _ = source.finish()
            return .unavailable
        }
        if let resume {
            shared.lastAcked = resume
            printError("millimetric-relay import: \(settings.input): resuming after line \(resume.line) (\(resume.bytes) bytes), as \(settings.progressPath!) records")
        } else {
            // A fresh start: refusals of an earlier run no longer stand.
            unlink(settings.rejectsPath)
        }

        let readerDone = DispatchSemaphore(value: 0)
        DetachedThread.start(name: "import-acks") { [self] in
            readAcks(client)
            condition.locked {
                shared.connectionLost = true
                condition.broadcast()
            }
            readerDone.signal()
        }
        // The hello first, answered before any event goes: a relay that refuses it would
        // put the events in its live queue.
        _ = client.write(Array(#"{"type":"hello","lane":"backfill"}"#.utf8) + [0x0A])
        let helloAccepted = condition.locked { () -> Bool in
            while !shared.helloAnswered && !shared.connectionLost { condition.wait() }
            return shared.helloAnswered && shared.helloRefusal == nil
        }
        let display = ImportProgressDisplay()
        var lastShown = ContinuousClock.now
        var linesRead = 0
        var broken = false
        var mismatch = false
        var sha = SHA1()
        var contentBytes: Int64 = 0
        var lineBuffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        // Lines go out in writes of up to 64 KiB, not one system call each; the buffer is
        // flushed before waiting for acks and after each chunk read, so nothing lingers. Their
        // entries are handed to the ack reader in the same step (one lock per write, not per
        // line), before the bytes go, so that no ack can arrive before its entry.
        var output: [UInt8] = []
        output.reserveCapacity(1 << 17)
        var unpublished: [Pending] = []
        // Lines handed over (published or not) and the acks known to the sender: the window
        // is checked without the lock, which is taken only when it looks full.
        var sent = 0
        var knownAcknowledged = 0
        // Once full, the window waits for this much room, so that the sender wakes once per
        // read of acks rather than once per ack.
        let resumeRoom = max(1, settings.window / 8)
        func flush() {
            if !unpublished.isEmpty {
                let lost = condition.locked { () -> Bool in
                    shared.pending.append(contentsOf: unpublished)
                    return shared.connectionLost
                }
                unpublished.removeAll(keepingCapacity: true)
                if lost { broken = true }
            }
            guard !output.isEmpty else { return }
            if !broken && !client.write(output) { broken = true }
            output.removeAll(keepingCapacity: true)
        }

        /// `line` runs through its newline, if it has one.
        func handle(_ line: UnsafeRawBufferPointer, newline: Bool) {
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
            // Wait for room in the window, after sending what is buffered.
            if sent - knownAcknowledged >= settings.window {
                flush()
                let lost = condition.locked { () -> Bool in
                    while sent - shared.acknowledged > settings.window - resumeRoom && !shared.connectionLost {
                        shared.senderWaiting = true
                        condition.wait()
                    }
                    shared.senderWaiting = false
                    knownAcknowledged = shared.acknowledged
                    return shared.connectionLost
                }
                if lost {
                    broken = true
                    return
                }
            }
            let digest = sha.digest()
            if ImportEventID.needsID(body) {
                ImportEventID.appendStamped(body, digest: digest, line: number, to: &output)
            } else {
                output.append(contentsOf: body.assumingMemoryBound(to: UInt8.self))
            }
            output.append(0x0A)
            unpublished.append(Pending(line: number, digest: digest, bytes: contentBytes, text: Array(body.assumingMemoryBound(to: UInt8.self))))
            sent += 1
            if output.count >= 1 << 16 { flush() }
        }

        if !helloAccepted { broken = true }
        reading: while !broken && !mismatch {
            let count = chunk.withUnsafeMutableBytes { source.read(into: $0) }
            if count == 0 { break }
            chunk.withUnsafeBytes { raw in
                let base = raw.baseAddress!
                var start = 0
                while start < count, let found = memchr(base + start, 0x0A, count - start) {
                    let end = base.distance(to: UnsafeRawPointer(found)) + 1
                    if lineBuffer.isEmpty {
                        handle(UnsafeRawBufferPointer(rebasing: raw[start..<end]), newline: true)
                    } else {
                        lineBuffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[start..<end]))
                        lineBuffer.withUnsafeBytes { handle($0, newline: true) }
                        lineBuffer.removeAll(keepingCapacity: true)
                    }
                    start = end
                    if broken || mismatch { return }
                }
                lineBuffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[start..<count]))
            }
            if broken || mismatch { break reading }
            flush()
            if ContinuousClock.now - lastShown >= .milliseconds(Int64(display.interval * 1000)) {
                lastShown = .now
                display.show(figures(source: source, linesRead: linesRead, started: started))
            }
        }
        if !broken && !mismatch && !lineBuffer.isEmpty { lineBuffer.withUnsafeBytes { handle($0, newline: false) } }
        flush()
        // A file shorter than the recorded progress is not the one it was recorded for.
        if let resume, !broken, linesRead < resume.line { mismatch = true }
        let finished = source.finish()
        // The decompressor's verdict counts only when its output was read to the end: stopped
        // early, it dies of SIGPIPE.
        let decompression = broken || mismatch ? nil : finished
        client.finishWriting()
        readerDone.wait()
        display.show(figures(source: source, linesRead: linesRead, started: started))
        display.finish()
        if let file = rejectsFile { fclose(file) }

        let (accepted, refused, outstanding, helloRefusal, progressError) = condition.locked {
            (shared.accepted, shared.refused, shared.pending.count - shared.pendingHead, shared.helloRefusal, shared.progressError)
        }
        if !helloAccepted {
            let reason = helloRefusal ?? "it closed the connection"
            printError("millimetric-relay import: the relay at \(settings.socketPath) does not take backfill imports (\(reason)); upgrade it")
            return .unavailable
        }
        let complete = !broken && !mismatch && outstanding == 0 && decompression == nil
        saveProgress(complete: complete)
        let seconds = (ContinuousClock.now - started).seconds
        let resumed = resume.map { "resumed after line \($0.line), " } ?? ""
        print("import \(settings.input): read \(linesRead) lines, accepted \(accepted), refused \(refused), \(resumed)\(Double(Int(seconds * 10)) / 10) s\(refused > 0 ? "; refused lines are in \(settings.rejectsPath)" : "")")
        fflush(nil)
        if let progressError { printError("millimetric-relay import: \(progressError)") }
        if mismatch {
            printError("millimetric-relay import: \(settings.input) is not the input \(settings.progressPath ?? "the progress file") was written for (its first \(resume!.line) lines differ); delete that file, or pass --restart, to import it from the start")
            return .failed
        }
        if let decompression {
            printError("millimetric-relay import: \(settings.input): \(decompression)")
            return .failed
        }
        if outstanding > 0 || broken {
            printError("millimetric-relay import: the relay closed the connection with \(outstanding) lines unacknowledged; run the same command again to resume after line \(condition.locked { shared.lastAcked.line })")
            return .unavailable
        }
        return .done(refused: refused)
    }

    private func figures(source: ImportInput, linesRead: Int, started: ContinuousClock.Instant) -> ImportProgressDisplay.Figures {
        let (accepted, refused) = condition.locked { (shared.accepted, shared.refused) }
        return .init(
            name: settings.input, consumedBytes: source.consumedBytes, totalBytes: source.totalBytes, linesRead: linesRead,
            accepted: accepted, refused: refused, elapsed: (ContinuousClock.now - started).seconds)
    }

    /// The ack reader thread: reads acks until the relay closes the connection and handles
    /// each read's acks under one lock, waking the sender once per read.
    private func readAcks(_ client: IngestClient) {
        var partial: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(client.descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            partial.append(contentsOf: chunk[0..<count])
            let consumed = partial.withUnsafeBytes { raw -> Int in
                let base = raw.baseAddress!
                var start = 0
                condition.locked {
                    while start < raw.count, let found = memchr(base + start, 0x0A, raw.count - start) {
                        let end = base.distance(to: UnsafeRawPointer(found))
                        acknowledged(UnsafeRawBufferPointer(rebasing: raw[start..<end]))
                        start = end + 1
                    }
                    if ContinuousClock.now - shared.lastSave >= .seconds(1) { saveProgressLocked(complete: false) }
                    if shared.senderWaiting || !shared.helloAnswered { condition.broadcast() }
                }
                return start
            }
            partial.removeFirst(consumed)
        }
        if !partial.isEmpty {
            condition.locked { partial.withUnsafeBytes { acknowledged($0) } }
        }
    }

    /// One ack, in order, with `condition` held.
    private func acknowledged(_ ack: UnsafeRawBufferPointer) {
        let ok = Self.hasPrefix(ack, #"{"ok":true"#)
        if !shared.helloAnswered {
            shared.helloAnswered = true
            if !ok { shared.helloRefusal = String(decoding: ack, as: UTF8.self) }
            condition.broadcast()
            return
        }
        guard shared.pendingHead < shared.pending.count else { return }
        let head = shared.pendingHead
        shared.pendingHead += 1
        shared.acknowledged += 1
        if ok {
            shared.accepted += 1
        } else {
            shared.refused += 1
            writeReject(line: shared.pending[head].line, text: shared.pending[head].text, ack: String(decoding: ack, as: UTF8.self))
        }
        shared.lastAcked.line = shared.pending[head].line
        shared.lastAckedDigest = shared.pending[head].digest
        shared.lastAcked.bytes = shared.pending[head].bytes
        if shared.pendingHead >= 4_096 {
            shared.pending.removeFirst(shared.pendingHead)
            shared.pendingHead = 0
        }
        shared.ackedSinceSave += 1
        // At most one window is ever sent again after a crash of this process.
        if shared.ackedSinceSave >= settings.window { saveProgressLocked(complete: false) }
    }

    private static func hasPrefix(_ bytes: UnsafeRawBufferPointer, _ prefix: StaticString) -> Bool {
        bytes.count >= prefix.utf8CodeUnitCount && memcmp(bytes.baseAddress!, prefix.utf8Start, prefix.utf8CodeUnitCount) == 0
    }

    private func saveProgress(complete: Bool) {
        condition.locked { saveProgressLocked(complete: complete) }
    }

    private func saveProgressLocked(complete: Bool) {
        shared.ackedSinceSave = 0
        shared.lastSave = .now
        guard let progressPath = settings.progressPath else { return }
        if let file = rejectsFile { fflush(file) }
        if let digest = shared.lastAckedDigest {
            shared.lastAcked.digest = digest.bytes.hex
            shared.lastAckedDigest = nil
        }
        var record = shared.lastAcked
        record.complete = complete
        do {
            try record.save(path: progressPath)
        } catch {
            shared.progressError = "\(error)"
        }
    }

    /// `{"line":N,"error":"CODE","message":"…","input":"…"}`: the relay's refusal with the line.
    private func writeReject(line: Int, text: [UInt8], ack: String) {
        if rejectsFile == nil {
            rejectsFile = fopen(settings.rejectsPath, "a")
            if rejectsFile == nil {
                shared.progressError = "cannot write the rejects file \(settings.rejectsPath): \(String(cString: strerror(errno)))"
                return
            }
        }
        // The ack is {"ok":false,"error":…,"message":…}: keep its members after "ok".
        let members = ack.hasPrefix(#"{"ok":false,"#) ? String(ack.dropFirst(#"{"ok":false,"#.count).dropLast()) : #""error":"internal_error","message":"unreadable ack""#
        let record = #"{"line":\#(line),\#(members),"input":\#(Self.jsonString(text))}"# + "\n"
        fputs(record, rejectsFile)
    }

    static func jsonString(_ bytes: [UInt8]) -> String {
        var out = "\""
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
