import FoundationEssentials
import Glibc
import Logging
import NIOCore

/// Serves one producer connection: frames lines, validates them, hands the valid ones to the
/// ``OutboxWriter`` and writes exactly one ack per line, in order, once its commit is done.
///
/// Lines read in one read cycle travel to the writer as one group, so a pipelining client costs
/// one hop per read, not per line. Groups complete in order (the writer is FIFO), but a group
/// of refusals alone would be ready at once, so acks leave strictly from the head of the queue.
/// Backpressure: reads stop while the client is not reading its acks (the channel is not
/// writable) or too many lines await their commit (this connection's guaranteed share is used
/// and the relay-wide ``UnackedLineBudget`` too); they resume when that clears, for the budget
/// when any connection gives lines back.
final class IngestConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Settings: Sendable {
        var maximumLineBytes: Int
        /// Lines read but not yet acked that this connection may always hold; past them it
        /// reads only while the shared budget has room.
        var maximumUnackedLines: Int
        var forgetPolicy: ForgetPolicy
    }

    private enum Entry {
        case event(index: Int)
        case rejected(IngestRejection)
        /// A hello line (``IngestHello``), acked with the lane it chose.
        case hello(OutboxLane)
    }

    /// The lines of one read cycle: an entry per line, and the valid events among them, which
    /// go to the writer together.
    private struct Group {
        var entries: [Entry] = []
        var events: [ValidatedEvent] = []
    }

    private let settings: Settings
    private let writer: OutboxWriter
    private let metrics: RelayMetrics
    private let logger: Logger
    private var validator = EventValidator()
    private var framer: LineFramer
    private var current = Group()
    /// Groups handed to the writer, answered in order once committed (one outcome per event).
    private var groups = InOrderReplies<Group, [OutboxWriter.Outcome]>()
    private var unackedLines = 0
    /// Lines handed to the writer and counted in the budget, not yet given back.
    private var linesInBudget = 0
    private let budget: UnackedLineBudget
    private let budgetWaiterID: UInt64
    private var readHeld = false
    private var inputClosed = false
    private var quiescing = false
    /// The close is decided and waits for the last ack write to leave; a read that lands
    /// meanwhile (one armed before quiescing) takes the decision back, so its lines get answers.
    private var closing = false
    /// Counts close decisions, so that the callback of a decision taken back does not close.
    private var closeDecision: UInt64 = 0
    private var closed = false
    private var peerUID: UInt32?
    /// The last ack write handed to the channel; the connection closes after it completes.
    private var lastWrite: EventLoopFuture<Void>?
    private var receivedAt: Int64 = 0
    private var receivedStamp: [UInt8] = []
    /// The lane this connection's events go to; a hello as the first line may change it.
    private var lane = OutboxLane.live
    /// Lines read but not yet acked that this connection may always hold: the settings', raised
    /// for a backfill connection (``backfillMaximumUnackedLines``).
    private var maximumUnackedLines: Int
    private var sawFirstLine = false
    /// A backfill hello was read in this read: the larger read shape is set once it is framed.
    private var needsBackfillReads = false

    /// Without a shared `budget`, the connection has one of its own as large as its share: it
    /// stops reading at `maximumUnackedLines`.
    init(settings: Settings, budget: UnackedLineBudget? = nil, writer: OutboxWriter, metrics: RelayMetrics, logger: Logger) {
        self.settings = settings
        let budget = budget ?? UnackedLineBudget(total: settings.maximumUnackedLines)
        self.budget = budget
        self.budgetWaiterID = budget.makeWaiterID()
        self.writer = writer
        self.metrics = metrics
        self.logger = logger
        self.framer = LineFramer(maximumLineBytes: settings.maximumLineBytes)
        self.maximumUnackedLines = settings.maximumUnackedLines
    }

    /// A backfill connection (`import`: one producer streaming a file) may have a whole commit
    /// of the writer's (``OutboxWriter/maximumRowsPerCommit``) awaiting its ack, so that the next
    /// rows are read and validated while those commit: with the live cap of 2,048 lines, each
    /// commit carried at most that many and the importer waited for every round trip (issue 16).
    ///
    /// Backpressure still holds, with a bound 4 x the live one: reads stop at 8,192 lines
    /// awaiting their ack, each held as its validated event (about its line's size, so about
    /// `max_line_bytes` at most), plus at most one read cycle past the cap (4 x 64 KiB,
    /// ``IngestServer/backfillReadsPerCycle``): about 8,192 x `max_line_bytes` per backfill
    /// connection, 512 MiB at the default 64 KiB (live connections together: about 1,024 x
    /// 64 KiB = 64 MiB, ``IngestServer/Configuration/maximumUnackedLines``), 2 GiB at the 255 KiB maximum;
    /// about 3.6 MB for the benchmark's lines (≈ 440 bytes with their ids). Only a hello as the
    /// first line raises it, and a larger configured cap is kept.
    static let backfillMaximumUnackedLines = OutboxWriter.maximumRowsPerCommit

    func channelActive(context: ChannelHandlerContext) {
        if let provider = context.channel as? any SocketOptionProvider {
            let future: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(
                level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            future.whenSuccess { credentials in loopBound.value.peerUID = credentials.uid }
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        // Quiescing holds further reads, but a read already armed still delivers bytes: those
        // were read from the client, so their lines are answered like any other (SPEC §4, §8).
        guard !inputClosed, !closed else { return }
        closing = false
        stampReceiveTime()
        framer.process(&buffer) { frame in
            self.accept(frame)
            // A big read is handed over in slices, so the first commit starts while the rest is
            // still being validated: lower ack latency, same number of fsyncs under load.
            if self.current.entries.count >= Self.maximumGroupLines { self.submitCurrentGroup(context: context) }
        }
        if needsBackfillReads {
            needsBackfillReads = false
            useBackfillReads(context: context)
        }
    }

    /// A backfill connection reads in large cycles again (``IngestServer/backfillReadsPerCycle``):
    /// from the next cycle on, as the current one's reads are already counted.
    private func useBackfillReads(context: ChannelHandlerContext) {
        guard let options = context.channel.syncOptions else { return }
        do {
            try options.setOption(.maxMessagesPerRead, value: UInt(IngestServer.backfillReadsPerCycle))
            try options.setOption(.recvAllocator, value: IngestServer.readAllocator(maximum: IngestServer.backfillMaximumReadBytes))
        } catch {
            // Still correct, only slower: the connection keeps the live shape.
            logger.debug("backfill connection keeps the live read shape", metadata: ["error": "\(error)"])
        }
    }

    /// Lines per group handed to the writer from one read.
    static let maximumGroupLines = 512

    func channelReadComplete(context: ChannelHandlerContext) {
        submitCurrentGroup(context: context)
        // A read while quiescing that brought no complete line still ends in a close.
        closeIfDone(context: context)
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            // The client shut down its write side: a last line without "\n" still counts (also
            // while quiescing: its end was read), then ack everything and close.
            if !inputClosed {
                closing = false
                stampReceiveTime()
                framer.finish { frame in self.accept(frame) }
            }
            inputClosed = true
            submitCurrentGroup(context: context)
            closeIfDone(context: context)
        } else if event is ChannelShouldQuiesceEvent {
            // The daemon is stopping: read no more, ack what was read, then close.
            quiescing = true
            submitCurrentGroup(context: context)
            closeIfDone(context: context)
        } else if let event = event as? IdleStateHandler.IdleStateEvent, event == .read {
            if framer.hasPartialLine {
                logger.warning("closing a connection stuck in the middle of a line", metadata: ["peer.uid": "\(peerUID.map(String.init) ?? "?")"])
                inputClosed = true
                submitCurrentGroup(context: context)
                closeIfDone(context: context)
            }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        resumeReadingIfPossible(context: context)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("ingest connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        releaseBudget()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        releaseBudget()
    }

    /// A closed connection's lines will not be acked here: their budget goes back now.
    private func releaseBudget() {
        budget.forgetWaiter(budgetWaiterID)
        let lines = linesInBudget
        linesInBudget = 0
        budget.giveBack(lines)
    }

    // Outbound: hold reads while the client is behind on its acks.
    func read(context: ChannelHandlerContext) {
        if shouldHoldReads(context: context) {
            readHeld = true
        } else {
            context.read()
        }
    }

    private func shouldHoldReads(context: ChannelHandlerContext) -> Bool {
        quiescing || inputClosed || !context.channel.isWritable || !budgetAllowsRead(context: context)
    }

    /// Checked last, so a waiter is left only when the budget alone holds the reads (the other
    /// reasons have their own wake-ups, or none); the budget calls it from whichever thread gives
    /// lines back, and it resumes on this connection's loop.
    private func budgetAllowsRead(context: ChannelHandlerContext) -> Bool {
        if unackedLines < maximumUnackedLines { return true }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        return budget.mayRead(holding: unackedLines, guaranteed: maximumUnackedLines, waiter: budgetWaiterID) {
            loopBound.eventLoop.execute {
                let (handler, context) = loopBound.value
                if !handler.closed { handler.resumeReadingIfPossible(context: context) }
            }
        }
    }

    private func resumeReadingIfPossible(context: ChannelHandlerContext) {
        if readHeld && !shouldHoldReads(context: context) {
            readHeld = false
            context.read()
        }
    }

    private func stampReceiveTime() {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        if now != receivedAt {
            receivedAt = now
            receivedStamp = RFC3339.format(unixMilliseconds: now)
        }
    }

    private func accept(_ frame: LineFramer.Frame) {
        unackedLines += 1
        switch frame {
        case .tooLong:
            sawFirstLine = true
            current.entries.append(.rejected(IngestRejection(code: .lineTooLong, message: "the line is longer than \(settings.maximumLineBytes) bytes (max_line_bytes); split the event or raise the limit")))
        case .line(let line):
            if !sawFirstLine {
                sawFirstLine = true
                switch line.withUnsafeReadableBytes({ IngestHello.parse($0) }) {
                case .success(let lane)?:
                    self.lane = lane
                    if lane == .backfill {
                        maximumUnackedLines = max(maximumUnackedLines, Self.backfillMaximumUnackedLines)
                        needsBackfillReads = true
                    }
                    current.entries.append(.hello(lane))
                    return
                case .failure(let rejection)?:
                    current.entries.append(.rejected(rejection))
                    return
                case nil:
                    break
                }
            }
            let result = line.withUnsafeReadableBytes { validator.validate($0, receivedTimestamp: receivedStamp) }
            switch result {
            case .success(let event):
                if event.kind == .forget && !settings.forgetPolicy.permits(uid: peerUID) {
                    current.entries.append(.rejected(IngestRejection(code: .forbidden, message: "uid \(peerUID.map(String.init) ?? "unknown") may not send forget; add it to forget_allowed_uids")))
                } else {
                    current.entries.append(.event(index: current.events.count))
                    current.events.append(event)
                }
            case .failure(let rejection):
                current.entries.append(.rejected(rejection))
            }
        }
    }

    private func submitCurrentGroup(context: ChannelHandlerContext) {
        guard !current.entries.isEmpty else { return }
        // Every line read becomes exactly one entry of one group: counted here, once per group.
        metrics.received(lines: current.entries.count)
        let group = current
        current = Group()
        if !closed {
            budget.take(group.entries.count)
            linesInBudget += group.entries.count
        }
        // The group keeps its events (shared, not copied) for the acks' ids and warnings.
        let events = group.events
        let id = groups.enqueue(group, reply: events.isEmpty ? [] : nil)
        if events.isEmpty {
            flushReadyGroups(context: context)
            return
        }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let metrics = self.metrics
        writer.submit(events, receivedAt: receivedAt, lane: lane) { outcomes in
            // Counted at the commit, even if the producer has gone before its ack.
            for outcome in outcomes { metrics.committed(outcome) }
            loopBound.eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.groupCommitted(id: id, outcomes: outcomes, context: context)
            }
        }
    }

    private func groupCommitted(id: UInt64, outcomes: [OutboxWriter.Outcome], context: ChannelHandlerContext) {
        groups.fill(id, with: outcomes)
        flushReadyGroups(context: context)
    }

    private func flushReadyGroups(context: ChannelHandlerContext) {
        guard !closed else { return }
        var wrote = false
        while let (head, outcomes) = groups.popReady() {
            var buffer = context.channel.allocator.buffer(capacity: head.entries.count * 64)
            var acked = 0
            for entry in head.entries {
                switch entry {
                case .rejected(let rejection):
                    metrics.linesRefused(rejection.code)
                    AckEncoder.writeRejected(rejection, to: &buffer)
                case .hello(let lane):
                    AckEncoder.writeHello(lane, to: &buffer)
                case .event(let index):
                    switch outcomes[index] {
                    case .stored(_, let purged):
                        acked += 1
                        AckEncoder.writeStored(head.events, at: index, purged: purged, to: &buffer)
                    case .rejected(let rejection):
                        metrics.linesRefused(rejection.code)
                        AckEncoder.writeRejected(rejection, to: &buffer)
                    }
                }
            }
            metrics.eventsAcked.increment(by: acked)
            unackedLines -= head.entries.count
            let returned = min(head.entries.count, linesInBudget)
            linesInBudget -= returned
            budget.giveBack(returned)
            lastWrite = context.write(wrapOutboundOut(buffer))
            wrote = true
        }
        if wrote { context.flush() }
        resumeReadingIfPossible(context: context)
        closeIfDone(context: context)
    }

    private var isDone: Bool {
        (inputClosed || quiescing) && groups.isEmpty && current.entries.isEmpty
    }

    private func closeIfDone(context: ChannelHandlerContext) {
        guard isDone, !closing, !closed else { return }
        closing = true
        closeDecision += 1
        let decision = closeDecision
        // Close only once the last ack has left: closing with writes still queued (a client
        // that reads its acks slowly) would throw those acks away.
        guard let lastWrite else {
            closeNow(context: context)
            return
        }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        lastWrite.whenComplete { _ in
            let (handler, context) = loopBound.value
            // Still done? A read may have brought lines meanwhile; their acks come first.
            if handler.closing && handler.closeDecision == decision && handler.isDone { handler.closeNow(context: context) }
        }
    }

    private func closeNow(context: ChannelHandlerContext) {
        guard !closed else { return }
        closed = true
        context.close(promise: nil)
    }
}
