import NIOCore
import Testing

@testable import MillimetricRelay

@Suite struct LineFramerTests {
    func frames(_ chunks: [String], max: Int = 16, finish: Bool = false) -> [String] {
        var framer = LineFramer(maximumLineBytes: max)
        var out: [String] = []
        let emit: (LineFramer.Frame) -> Void = { frame in
            switch frame {
            case .line(let buffer): out.append(String(buffer: buffer))
            case .tooLong: out.append("<too long>")
            }
        }
        for chunk in chunks {
            var buffer = ByteBuffer(string: chunk)
            framer.process(&buffer, emit)
        }
        if finish { framer.finish(emit) }
        return out
    }

    @Test func linesSplitAcrossReadsAreJoined() {
        #expect(frames(["{\"a\"", ":1}\n{\"b", "\":2}\n"]) == [#"{"a":1}"#, #"{"b":2}"#])
    }

    @Test func aTrailingCarriageReturnIsDropped() {
        #expect(frames(["abc\r\n", "def\r", "\n"]) == ["abc", "def"])
    }

    @Test func emptyAndWhitespaceLinesAreSkipped() {
        #expect(frames(["\n \t\n\r\nx\n"]) == ["x"])
    }

    @Test func aLineOfExactlyTheCapIsAcceptedAndOneMoreIsTooLong() {
        let sixteen = String(repeating: "a", count: 16)
        #expect(frames([sixteen + "\n", sixteen + "b\n", "ok\n"]) == [sixteen, "<too long>", "ok"])
        // The cap does not count "\r\n".
        #expect(frames([sixteen + "\r\n"]) == [sixteen])
    }

    @Test func anOverlongLineArrivingInPiecesIsReportedOnceAndSkippedToItsEnd() {
        let out = frames(["0123456789", "0123456789", "0123456789", "tail\nnext\n"])
        #expect(out == ["<too long>", "next"])
    }

    @Test func aLastLineWithoutNewlineCountsAtEndOfInput() {
        #expect(frames(["a\nlast"], finish: true) == ["a", "last"])
        #expect(frames(["a\n"], finish: true) == ["a"])
    }

    @Test func theRestOfAnOverlongLineIsNotEmittedAtEndOfInput() {
        #expect(frames([String(repeating: "x", count: 40)], finish: true) == ["<too long>"])
    }
}
