import NIOCore
import NIOHTTP1

/// Sits between NIO's HTTP decoder and the relay's ``HTTPIngestHandler`` and records what the
/// handler is given: the requests as NIO parsed them, which the reference model then judges.
final class RequestTap: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    enum Part {
        case head(HTTPRequestHead)
        case body([UInt8])
        case end
    }

    private(set) var parts: [Part] = []
    /// An error the decoder reported (the request stream could not be parsed).
    private(set) var sawError = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): parts.append(.head(head))
        case .body(let chunk): parts.append(.body(Array(chunk.readableBytesView)))
        case .end: parts.append(.end)
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        sawError = true
        context.fireErrorCaught(error)
    }
}
