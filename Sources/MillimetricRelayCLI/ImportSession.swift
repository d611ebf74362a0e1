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
        var digest: [UInt8]
        var bytes: Int64
        /// The line as read (without the id it may have been given), for the rejects file.
        var text: [UInt8]
    }

    /// Shared between the sending (main) thread and the ack reader; guarded by `condition`.
    private struct Shared {
        var pending: [Pending] = []
        var pendingHead = 0
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

    private let input: String
    private let socketPath: String
    private let rejectsPath: String
    private let progressPath: String?
    private let window: Int
    private let restart: Bool
    private let condition = ThreadCondition()
    private var shared: Shared
    private var rejectsFile: UnsafeMutablePointer<FILE>?

    init(input: String, socketPath: String, rejectsPath: String, progressPath: String?, window: Int, restart: Bool) {
        self.input = input
        self.socketPath = socketPath
        self.rejectsPath = rejectsPath
        self.progressPath = progressPath
        self.window = window
        self.restart = restart
        shared = Shared(lastAcked: ImportProgressFile(source: input, line: 0, digest: SHA1().finish().hex, bytes: 0, complete: false))
    }

    func run() -> Result {
        let started = ContinuousClock.now
        var resume: ImportProgressFile?
        if !restart, let progressPath, let saved = ImportProgressFile.load(path: progressPath), saved.line > 0 {
            resume = saved
        }
        let source: ImportInput
        do {
            source = try ImportInput(path: input)
        } catch {
            printError("millimetric-relay import: \(error)")
            return .failed
        }
        let client: IngestClient
        do {
            client = try IngestClient(path: socketPath)
        } catch {
            printError("millimetric-relay import: \(error)")
            _ = source.finish()
            return .unavailable
        }
        if let resume {
            shared.lastAcked = resume
            printError("millimetric-relay import: \(input): resuming after line \(resume.line) (\(resume.bytes) bytes), as \(progressPath!) records")
        } else {
            // A fresh start: refusals of an earlier run no longer stand.
            unlink(rejectsPath)
        }

        let readerDone = DispatchSemaphore(value: 0)
        DetachedThread.start(name: "import-acks") { [self] in
            client.readLines { self.acknowledged($0) }
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
        // flushed before waiting for acks and after each chunk read, so nothing lingers.
        var output: [UInt8] = []
        output.reserveCapacity(1 << 17)
        func flush() {
            guard !output.isEmpty else { return }
            if !broken && !client.write(output) { broken = true }
            output.removeAll(keepingCapacity: true)
        }

        func handle(_ line: ArraySlice<UInt8>, newline: Bool) {
            linesRead += 1
            let number = linesRead
            line.withUnsafeBytes { sha.update($0) }
            if newline { sha.update([0x0A]) }
            contentBytes += Int64(line.count + (newline ? 1 : 0))
            if let resume, number <= resume.line {
                if number == resume.line && sha.finish().hex != resume.digest { mismatch = true }
                return
            }
            let body = line.last == 0x0D ? line.dropLast() : line
            if body.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
            let digest = sha.finish()
            let needsID = body.withUnsafeBytes { ImportEventID.needsID($0) }
            let original = Array(body)
            var text = original
            if needsID {
                text = text.withUnsafeBytes { ImportEventID.stamp($0, id: ImportEventID.make(digest: digest, line: number)) }
            }
            // Wait for room in the window, after sending what is buffered.
            if condition.locked({ shared.pending.count - shared.pendingHead >= window }) { flush() }
            let lost = condition.locked { () -> Bool in
                while shared.pending.count - shared.pendingHead >= window && !shared.connectionLost { condition.wait() }
                if shared.connectionLost { return true }
                shared.pending.append(Pending(line: number, digest: digest, bytes: contentBytes, text: original))
                return false
            }
            if lost {
                broken = true
                return
            }
            output += text
            output.append(0x0A)
            if output.count >= 1 << 16 { flush() }
        }

        if !helloAccepted { broken = true }
        reading: while !broken && !mismatch {
            let count = chunk.withUnsafeMutableBytes { source.read(into: $0) }
            if count == 0 { break }
            var start = 0
            var index = 0
            while index < count {
                if chunk[index] == 0x0A {
                    if lineBuffer.isEmpty {
                        handle(chunk[start..<index], newline: true)
                    } else {
                        lineBuffer += chunk[start..<index]
                        handle(lineBuffer[...], newline: true)
                        lineBuffer.removeAll(keepingCapacity: true)
                    }
                    if broken || mismatch { break reading }
                    start = index + 1
                }
                index += 1
            }
            lineBuffer += chunk[start..<count]
            flush()
            if ContinuousClock.now - lastShown >= .milliseconds(Int64(display.interval * 1000)) {
                lastShown = .now
                display.show(figures(source: source, linesRead: linesRead, started: started))
            }
        }
        if !broken && !mismatch && !lineBuffer.isEmpty { handle(lineBuffer[...], newline: false) }
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
            printError("millimetric-relay import: the relay at \(socketPath) does not take backfill imports (\(reason)); upgrade it")
            return .unavailable
        }
        let complete = !broken && !mismatch && outstanding == 0 && decompression == nil
        saveProgress(complete: complete)
        let seconds = (ContinuousClock.now - started).seconds
        let resumed = resume.map { "resumed after line \($0.line), " } ?? ""
        print("import \(input): read \(linesRead) lines, accepted \(accepted), refused \(refused), \(resumed)\(Double(Int(seconds * 10)) / 10) s\(refused > 0 ? "; refused lines are in \(rejectsPath)" : "")")
        fflush(nil)
        if let progressError { printError("millimetric-relay import: \(progressError)") }
        if mismatch {
            printError("millimetric-relay import: \(input) is not the input \(progressPath ?? "the progress file") was written for (its first \(resume!.line) lines differ); delete that file, or pass --restart, to import it from the start")
            return .failed
        }
        if let decompression {
            printError("millimetric-relay import: \(input): \(decompression)")
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
            name: input, consumedBytes: source.consumedBytes, totalBytes: source.totalBytes, linesRead: linesRead,
            accepted: accepted, refused: refused, elapsed: (ContinuousClock.now - started).seconds)
    }

    /// The ack reader thread: one ack per line, in order.
    private func acknowledged(_ ack: String) {
        let ok = ack.hasPrefix(#"{"ok":true"#)
        condition.locked {
            if !shared.helloAnswered {
                shared.helloAnswered = true
                if !ok { shared.helloRefusal = ack }
                condition.broadcast()
                return
            }
            guard shared.pendingHead < shared.pending.count else { return }
            let entry = shared.pending[shared.pendingHead]
            shared.pendingHead += 1
            if shared.pendingHead >= 4_096 {
                shared.pending.removeFirst(shared.pendingHead)
                shared.pendingHead = 0
            }
            if ok {
                shared.accepted += 1
            } else {
                shared.refused += 1
                writeReject(line: entry.line, text: entry.text, ack: ack)
            }
            shared.lastAcked.line = entry.line
            shared.lastAcked.digest = entry.digest.hex
            shared.lastAcked.bytes = entry.bytes
            shared.ackedSinceSave += 1
            // At most one window is ever sent again after a crash of this process.
            if shared.ackedSinceSave >= window || ContinuousClock.now - shared.lastSave >= .seconds(1) {
                saveProgressLocked(complete: false)
            }
            condition.broadcast()
        }
    }

    private func saveProgress(complete: Bool) {
        condition.locked { saveProgressLocked(complete: complete) }
    }

    private func saveProgressLocked(complete: Bool) {
        shared.ackedSinceSave = 0
        shared.lastSave = .now
        guard let progressPath else { return }
        if let file = rejectsFile { fflush(file) }
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
            rejectsFile = fopen(rejectsPath, "a")
            if rejectsFile == nil {
                shared.progressError = "cannot write the rejects file \(rejectsPath): \(String(cString: strerror(errno)))"
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
