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
        var generator = SplitMix64(seed: fnv1a(input))
        let caps = [1, 2, 16, 64, 512, 65_536]
        let cap = caps[Int(generator.next() % UInt64(caps.count))]
        // Read boundaries: every byte for short inputs, else up to 24 input-chosen cuts (more
        // would spend the time in ByteBuffer bookkeeping rather than in the framer's logic).
        var cuts: [Int]
        if input.count <= 96 {
            cuts = Array(0..<input.count)
        } else {
            cuts = (0..<Int(generator.next() % 25)).map { _ in Int(generator.next() % UInt64(input.count)) }
            cuts.append(0)
            cuts = Array(Set(cuts)).sorted()
        }
        cuts.append(input.count)

        var framer = LineFramer(maximumLineBytes: cap)
        var frames: [Frame] = []
        func collect(_ frame: LineFramer.Frame) {
            switch frame {
            case .line(let buffer): frames.append(.line(Array(buffer.readableBytesView)))
            case .tooLong: frames.append(.tooLong)
            }
        }
        for (start, end) in zip(cuts, cuts.dropFirst()) where end > start {
            var buffer = ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: input[start..<end]))
            framer.process(&buffer, collect)
            if buffer.readableBytes != 0 { fail("the framer left \(buffer.readableBytes) bytes unread", input, cap) }
        }
        framer.finish(collect)

        let expected = reference(Array(input), cap: cap)
        if frames != expected {
            fail("framer gave \(describe(frames)), reference \(describe(expected))", input, cap)
        }
        for case .line(let line) in frames {
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
        let shown = String(decoding: input.prefix(300), as: UTF8.self).debugDescription
        fatalError("framer invariant broken (cap \(cap)): \(what)\n  input (\(input.count) bytes): \(shown)")
    }

    static func fnv1a(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
