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
    struct Pending {
        var line: Int
        var digest: SHA1.Digest
        var bytes: Int64
        /// Where the line as read (without the id it may have been given) is, for the rejects
        /// file: the number of the published chunk of texts that holds it (counted from the
        /// first, ``Shared/textChunks``), its offset in that chunk and its length.
        var textChunk: Int
        var textStart: Int
        var textCount: Int
    }

    /// Shared between the sending (main) thread and the ack reader; guarded by `condition`.
    private struct Shared {
        var pending: [Pending] = []
        var pendingHead = 0
        /// The texts of the lines in `pending`, one chunk per ``publish(_:text:)`` (one array per
        /// write of lines rather than one per line); `textChunks[0]` is chunk `firstTextChunk`.
        var textChunks: [[UInt8]] = []
        var firstTextChunk = 0
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

        let readerDone = startAckReader(client)
        let helloAccepted = sayHello(client)
        var sender = ImportSender(session: self, client: client, window: settings.window, resume: resume)
        if !helloAccepted { sender.broken = true }
        let display = ImportProgressDisplay()
        send(source, with: &sender, display: display, started: started)
        let finished = source.finish()
        // The decompressor's verdict counts only when its output was read to the end: stopped
        // early, it dies of SIGPIPE.
        let decompression = sender.stopped ? nil : finished
        client.finishWriting()
        readerDone.wait()
        display.show(figures(source: source, linesRead: sender.linesRead, started: started))
        display.finish()
        if let file = rejectsFile { fclose(file) }
        return conclude(sender: sender, helloAccepted: helloAccepted, decompression: decompression, resume: resume, started: started)
    }

    /// The ack reader's thread; the semaphore is signalled when the relay has closed the
    /// connection and every ack has been read.
    private func startAckReader(_ client: IngestClient) -> DispatchSemaphore {
        let readerDone = DispatchSemaphore(value: 0)
        DetachedThread.start(name: "import-acks") { [self] in
            readAcks(client)
            condition.locked {
                shared.connectionLost = true
                condition.broadcast()
            }
            readerDone.signal()
        }
        return readerDone
    }

    /// The hello first, answered before any event goes: a relay that refuses it would put the
    /// events in its live queue. Whether the relay took it.
    private func sayHello(_ client: IngestClient) -> Bool {
        _ = client.write(Array(#"{"type":"hello","lane":"backfill"}"#.utf8) + [0x0A])
        return condition.locked { () -> Bool in
            while !shared.helloAnswered && !shared.connectionLost { condition.wait() }
            return shared.helloAnswered && shared.helloRefusal == nil
        }
    }

    /// Reads the input to its end (or until the sender stops), showing progress as it goes.
    private func send(_ source: ImportInput, with sender: inout ImportSender, display: ImportProgressDisplay, started: ContinuousClock.Instant) {
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var lastShown = ContinuousClock.now
        while !sender.stopped {
            let count = chunk.withUnsafeMutableBytes { source.read(into: $0) }
            if count == 0 { break }
            chunk.withUnsafeBytes { sender.consume(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            if sender.stopped { break }
            sender.flush()
            if ContinuousClock.now - lastShown >= .milliseconds(Int64(display.interval * 1000)) {
                lastShown = .now
                display.show(figures(source: source, linesRead: sender.linesRead, started: started))
            }
        }
        sender.finish()
    }

    /// Saves the progress, prints the summary and says what went wrong, if anything.
    private func conclude(
        sender: ImportSender, helloAccepted: Bool, decompression: String?, resume: ImportProgressFile?, started: ContinuousClock.Instant
    ) -> Result {
        let (accepted, refused, outstanding, helloRefusal, progressError) = condition.locked {
            (shared.accepted, shared.refused, shared.pending.count - shared.pendingHead, shared.helloRefusal, shared.progressError)
        }
        if !helloAccepted {
            let reason = helloRefusal ?? "it closed the connection"
            printError("millimetric-relay import: the relay at \(settings.socketPath) does not take backfill imports (\(reason)); upgrade it")
            return .unavailable
        }
        let complete = !sender.stopped && outstanding == 0 && decompression == nil
        saveProgress(complete: complete)
        let seconds = (ContinuousClock.now - started).seconds
        let resumed = resume.map { "resumed after line \($0.line), " } ?? ""
        print("import \(settings.input): read \(sender.linesRead) lines, accepted \(accepted), refused \(refused), \(resumed)\(Double(Int(seconds * 10)) / 10) s\(refused > 0 ? "; refused lines are in \(settings.rejectsPath)" : "")")
        fflush(nil)
        if let progressError { printError("millimetric-relay import: \(progressError)") }
        if sender.mismatch {
            printError("millimetric-relay import: \(settings.input) is not the input \(settings.progressPath ?? "the progress file") was written for (its first \(resume!.line) lines differ); delete that file, or pass --restart, to import it from the start")
            return .failed
        }
        if let decompression {
            printError("millimetric-relay import: \(settings.input): \(decompression)")
            return .failed
        }
        if outstanding > 0 || sender.broken {
            printError("millimetric-relay import: the relay closed the connection with \(outstanding) lines unacknowledged; run the same command again to resume after line \(condition.locked { shared.lastAcked.line })")
            return .unavailable
        }
        return .done(refused: refused)
    }

    /// Hands sent lines' entries and the chunk of their texts to the ack reader, before their
    /// bytes go; false if the connection is already lost.
    func publish(_ entries: [Pending], text: [UInt8]) -> Bool {
        condition.locked {
            shared.pending.append(contentsOf: entries)
            shared.textChunks.append(text)
            return !shared.connectionLost
        }
    }

    /// Waits until at least `count` lines are acknowledged; the count acknowledged then, or
    /// nil if the connection was lost first.
    func waitForAcknowledgements(atLeast count: Int) -> Int? {
        condition.locked {
            while shared.acknowledged < count && !shared.connectionLost {
                shared.senderWaiting = true
                condition.wait()
            }
            shared.senderWaiting = false
            return shared.connectionLost ? nil : shared.acknowledged
        }
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
            let entry = shared.pending[head]
            let text = shared.textChunks[entry.textChunk - shared.firstTextChunk][entry.textStart..<entry.textStart + entry.textCount]
            writeReject(line: entry.line, text: Array(text), ack: String(decoding: ack, as: UTF8.self))
        }
        shared.lastAcked.line = shared.pending[head].line
        shared.lastAckedDigest = shared.pending[head].digest
        shared.lastAcked.bytes = shared.pending[head].bytes
        if shared.pendingHead >= 4_096 {
            shared.pending.removeFirst(shared.pendingHead)
            shared.pendingHead = 0
            // The chunks before the first unacknowledged line's hold acknowledged lines only.
            let needed = shared.pending.first?.textChunk ?? shared.firstTextChunk + shared.textChunks.count
            shared.textChunks.removeFirst(needed - shared.firstTextChunk)
            shared.firstTextChunk = needed
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
