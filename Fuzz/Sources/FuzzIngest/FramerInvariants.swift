import FuzzSupport
import NIOCore

@testable import MillimetricRelay

/// The line framer against a plain reference (SPEC §4): lines end at `\n`, one `\r` before it is
/// dropped, a line over the cap is `line_too_long` whatever its content, blank lines (spaces,
/// tabs, `\r`) are ignored, and a last line without `\n` counts when the client half-closes.
/// The stream is handed over in chunks whose boundaries come from the input itself, so
/// libFuzzer explores where a read boundary falls (inside `\r\n`, just past the cap, …).
enum FramerInvariants {
    enum Frame: Equatable {
        case line([UInt8])
        case tooLong
    }

    static func checkStream(_ input: UnsafeRawBufferPointer) {
        var generator = SplitMix64(hashing: input)
        let caps = [1, 2, 16, 64, 512, 65_536]
        let cap = caps[Int(generator.next() % UInt64(caps.count))]
        // Read boundaries where the framer's state changes: on either side of every `\r` and
        // `\n`, and just before, at and past the cap from each line start; plus up to 8
        // input-chosen cuts. (A cut after every byte spent most of the time allocating
        // buffers; these are the places a cut can matter.)
        // (An array, sorted once: a Set cost a hash per cut on every input.)
        var cuts = [0]
        var lineStart = 0
        for (index, byte) in input.enumerated() where byte == 0x0A || byte == 0x0D {
            cuts.append(index)
            cuts.append(index + 1)
            if byte == 0x0A {
                cuts += [lineStart + cap - 1, lineStart + cap, lineStart + cap + 1, lineStart + cap + 2]
                lineStart = index + 1
            }
            if cuts.count > 192 { break }
        }
        cuts += [lineStart + cap - 1, lineStart + cap, lineStart + cap + 1, lineStart + cap + 2]
        for _ in 0..<Int(generator.next() % 9) where !input.isEmpty {
            cuts.append(Int(generator.next() % UInt64(input.count)))
        }
        cuts.removeAll { !(0..<input.count).contains($0) }
        cuts.sort()
        cuts.append(input.count)

        var framer = LineFramer(maximumLineBytes: cap)
        var frames: [Frame] = []
        func collect(_ frame: LineFramer.Frame) {
            switch frame {
            case .line(let buffer): frames.append(.line(Array(buffer.readableBytesView)))
            case .tooLong: frames.append(.tooLong)
            }
        }
        // One buffer for every read, as a connection's is reused (and one allocation, not one per cut).
        var buffer = ByteBuffer()
        buffer.reserveCapacity(input.count)
        for (start, end) in zip(cuts, cuts.dropFirst()) where end > start {
            buffer.clear()
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: input[start..<end]))
            framer.process(&buffer, collect)
            if buffer.readableBytes != 0 { fail("the framer left \(buffer.readableBytes) bytes unread", input, cap) }
        }
        framer.finish(collect)

        let expected = reference(Array(input), cap: cap)
        if frames != expected {
            fail("framer gave \(describe(frames)), reference \(describe(expected))", input, cap)
        }
        // The framed lines through the validator, except one that is the whole input, which
        // the entry point has just checked.
        for case .line(let line) in frames where !line.elementsEqual(input) {
            line.withUnsafeBytes { IngestInvariants.checkLine($0) }
        }
    }

    /// The protocol's framing, written the obvious way.
    static func reference(_ bytes: [UInt8], cap: Int) -> [Frame] {
        var frames: [Frame] = []
        var pieces = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        if pieces.last?.isEmpty == true { pieces.removeLast() }  // the stream ended with "\n"
        for var piece in pieces {
            if piece.last == 0x0D { piece.removeLast() }
            if piece.count > cap {
                frames.append(.tooLong)
            } else if !piece.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                frames.append(.line(piece))
            }
        }
        return frames
    }

    static func describe(_ frames: [Frame]) -> String {
        frames.map { frame in
            switch frame {
            case .tooLong: "tooLong"
            case .line(let bytes): "line(\(bytes.count))"
            }
        }.joined(separator: ",")
    }

    static func fail(_ what: String, _ input: UnsafeRawBufferPointer, _ cap: Int) -> Never {
        Invariant.fail(what, input: input, named: "framer input (cap \(cap))", shown: 300)
    }
}
