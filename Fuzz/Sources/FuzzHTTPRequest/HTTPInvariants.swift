import Foundation
import FuzzSupport
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1

@testable import MillimetricRelay

/// The local API listener's request path (SPEC §4b), driven through NIO's `EmbeddedChannel`
/// with the pipeline the server builds (NIO's HTTP decoder and error handler, then
/// ``HTTPIngestHandler``), the input cut into reads at input-chosen places.
///
/// What must hold: the bytes written back are well-formed HTTP/1.x responses, each with a
/// `content-length` body; every request read gets exactly one answer, in request order, with
/// the status and code ``ExpectedAnswers`` gives (so nothing reaches the outbox without the
/// relay's key, and the 256 KB body limit holds, by `Content-Length` or by chunks added up);
/// every answer but NIO's own `400` for an unparseable stream is `{"ok":false,"error":CODE,
/// "message":TEXT}` and nothing else, a 503 carries `Retry-After`, a 405 `Allow`, an answer that
/// ends the connection `Connection: close`; `100 Continue` only for a request that asked for it.
/// The marker `@@BIG@@` in an input stands for 65,536 bytes of `a`, so that bodies can pass the
/// limit in an input of reasonable size.
enum HTTPInvariants {
    /// The outbox the handler hands events to, closed at once: every submission is refused
    /// `shutting_down` on the spot, on the calling thread (the embedded loop's).
    static let writer: OutboxWriter = {
        var template = Array("/tmp/millimetric-fuzz-http.XXXXXX".utf8CString)
        let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        let writer = try! OutboxWriter(
            path: directory + "/outbox.sqlite", synchronous: .normal, maximumBytes: 1 << 20, logger: Logger(label: "fuzz"))
        writer.close()
        try? FileManager.default.removeItem(atPath: directory)  // never opened again
        return writer
    }()
    static let authenticator = HTTPBearerAuthenticator(key: try! APIKey(ExpectedAnswers.key, source: "fuzz"))
    static let metrics = RelayMetrics()
    static let logger: Logger = {
        var logger = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
        logger.logLevel = .critical
        return logger
    }()
    static let big = Array("@@BIG@@".utf8)

    static func check(_ input: UnsafeRawBufferPointer) {
        let stream = expand(Array(input))
        let channel = EmbeddedChannel()
        let tap = RequestTap()
        do {
            let sync = channel.pipeline.syncOperations
            try sync.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: true)
            try sync.addHandler(tap)
            try sync.addHandler(HTTPIngestHandler(.init(
                requestTimeout: .seconds(30), writer: writer, authenticator: authenticator,
                isAccepting: { true }, metrics: metrics, logger: logger)))
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        } catch {
            fail("cannot set up the channel: \(error)", input)
        }

        // Reads cut at up to 8 input-chosen places, so request boundaries fall anywhere.
        var generator = SplitMix64(hashing: input)
        var cuts = Set([0, stream.count])
        for _ in 0..<Int(generator.next() % 9) where !stream.isEmpty {
            cuts.insert(Int(generator.next() % UInt64(stream.count)))
        }
        let bounds = cuts.sorted()
        for (start, end) in zip(bounds, bounds.dropFirst()) where end > start {
            guard channel.isActive else { break }
            do {
                try channel.writeInbound(ByteBuffer(bytes: stream[start..<end]))
            } catch {
                // NIO's decoder refused the stream; its error handler answers 400 and closes.
            }
            channel.embeddedEventLoop.run()
        }

        var written: [UInt8] = []
        while let buffer = try? channel.readOutbound(as: ByteBuffer.self) {
            written += buffer.readableBytesView
        }
        let closed = !channel.isActive
        _ = try? channel.finish(acceptAlreadyClosed: true)

        var headRequests: [Bool] = []
        for case .head(let head) in tap.parts { headRequests.append(head.method == .HEAD) }
        guard let responses = ResponseReader.responses(in: written, headRequests: headRequests) else {
            fail("the answer is not HTTP: \(String(decoding: written.prefix(600), as: UTF8.self).debugDescription)", input)
        }
        let expected = ExpectedAnswers(tap.parts)
        // What a failure report shows: the requests as NIO parsed them, and the bytes written.
        func transcript() -> String {
            let parts = tap.parts.map { part -> String in
                switch part {
                case .head(let head): "head(\(head.method) \(head.uri) \(head.version))"
                case .body(let bytes): "body(\(bytes.count))"
                case .end: "end"
                }
            }
            return "\n  parts: \(parts) error: \(tap.sawError)\n  written: \(String(decoding: written.prefix(600), as: UTF8.self).debugDescription)"
        }
        let interim = responses.filter { $0.status == 100 }
        var finals = responses.filter { $0.status != 100 }
        require(interim.count <= expected.expectations, "\(interim.count) 100 Continue for \(expected.expectations) requests that asked", input)
        require(responses.allSatisfy { $0.status == 100 || $0.status >= 200 }, "an interim answer other than 100", input)

        // NIO's own answer to a stream it cannot parse: 400, empty, and the connection closes
        // (twice when the decoder reports again as the connection closes, which only the
        // embedded channel records). Answers to requests read before it may be lost with the
        // connection.
        var nioRefusals = 0
        while tap.sawError, let last = finals.last, last.status == 400, last.body.isEmpty {
            require(last.header("connection").map { $0.lowercased() } == ["close"], "NIO's 400 without Connection: close", input)
            finals.removeLast()
            nioRefusals += 1
        }
        if nioRefusals > 0 {
            require(closed, "the connection stays open after NIO's 400", input)
            require(finals.count <= expected.answers.count, "\(finals.count) answers for \(expected.answers.count) requests\(transcript())", input)
        } else {
            require(finals.count == expected.answers.count,
                "\(finals.count) answers (\(finals.map(\.status))) for \(expected.answers.count) requests (\(expected.answers.map(\.status)))\(transcript())", input)
        }

        for (index, (answer, want)) in zip(finals, expected.answers).enumerated() {
            func context() -> String { "answer \(answer.status) where \(want.status) \(want.code) was due\(transcript())" }
            require(answer.status == want.status, context(), input)
            require(answer.header("content-type") == ["application/json"], "\(context()): content-type \(answer.header("content-type"))", input)
            if headRequests[index] {
                require(answer.body.isEmpty, "\(context()): a body in the answer to a HEAD request", input)
                continue
            }
            guard let object = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any] else {
                fail("\(context()): the body is not a JSON object: \(String(decoding: answer.body, as: UTF8.self))", input)
            }
            require(Set(object.keys) == ["ok", "error", "message"], "\(context()): the body has \(object.keys.sorted())", input)
            require(object["ok"] as? Bool == false, "\(context()): ok is not false", input)
            require(object["error"] as? String == want.code, "\(context()): error \(object["error"] ?? "none")", input)
            let message = object["message"] as? String ?? ""
            require(!message.isEmpty, "\(context()): no message", input)
            require((message == ExpectedAnswers.writerClosedMessage) == want.reachedWriter,
                "\(context()): reached the outbox \(message == ExpectedAnswers.writerClosedMessage), due \(want.reachedWriter)", input)
            require(answer.header("connection").contains { $0.lowercased() == "close" } == want.closeAfter,
                "\(context()): Connection \(answer.header("connection")), close due \(want.closeAfter)", input)
            if want.status == 503 { require(answer.header("retry-after") == ["1"], "\(context()): retry-after \(answer.header("retry-after"))", input) }
            if let allow = want.allow { require(answer.header("allow") == [allow], "\(context()): allow \(answer.header("allow"))", input) }
        }
        if !tap.sawError && expected.answers.last?.closeAfter == true {
            require(closed, "the connection stays open after an answer that closes it", input)
        }
    }

    /// The input with each `@@BIG@@` replaced by 65,536 bytes of `a`.
    static func expand(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= big.count else { return bytes }
        var result: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == big[0], index + big.count <= bytes.count, bytes[index..<(index + big.count)].elementsEqual(big) {
                result += repeatElement(UInt8(ascii: "a"), count: 65_536)
                index += big.count
            } else {
                result.append(bytes[index])
                index += 1
            }
        }
        return result
    }

    static func require(_ condition: @autoclosure () -> Bool, _ what: @autoclosure () -> String, _ input: UnsafeRawBufferPointer) {
        Invariant.require(condition(), what(), input: input, named: "HTTP input", shown: 400)
    }

    static func fail(_ what: String, _ input: UnsafeRawBufferPointer) -> Never {
        Invariant.fail(what, input: input, named: "HTTP input", shown: 400)
    }
}
