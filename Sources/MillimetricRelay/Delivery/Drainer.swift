import CurlSupport
import Dispatch
import FoundationEssentials
import Glibc
import Logging
import Synchronization

/// Ships the outbox to the API (SPEC §6): batches in acknowledgement order, token buckets under
/// the API's rate limits, several requests in flight, retries with backoff and full jitter,
/// bisection of refused batches down to the refused events, dead letters, and a pause for
/// answers no single event caused.
///
/// It runs on a thread of its own (its database reads block) and hands requests to the
/// ``UpstreamWorkerPool``. Rows leave the outbox only through ``OutboxWriter/settle`` after a
/// 2xx, so a crash between the API's answer and the deletion only leads to a resend with the
/// same `event_id`s.
final class Drainer: Sendable {
    struct Settings: Sendable {
        var databasePath: String
        var maximumEvents = 500
        var maximumBodyBytes = 262_144
        var flushInterval: Duration = .seconds(1)
        var maximumInFlight = 4
        var batchRate = 5.0
        var batchBurst = 20
        var trackRate = 50.0
        var trackBurst = 200
        var backoffBase: Duration = .milliseconds(500)
        var backoffCeiling: Duration = .seconds(30)
        var pausedRetryInterval: Duration = .seconds(60)
        var stopTimeout: Duration = .seconds(5)
    }

    /// What other threads tell the drainer thread; guarded by `condition`.
    private struct Inbox {
        var completions: [(UInt64, UpstreamWorkerPool.Outcome)] = []
        var committedSeq: Int64 = 0
        var stopRequested = false
        var resumeRequested = false
        var pendingSettlements = 0
        #if MILLIMETRIC_RELAY_TEST_HOOKS
        var stalledForTesting = false
        #endif
    }

    /// What `status`, STATUS= and the watchdog read.
    struct Observation: Sendable {
        var state: UpstreamState = .idle
        var inFlight = 0
        var heartbeat: Int64 = 0
    }

    private let settings: Settings
    private let writer: OutboxWriter
    private let metrics: RelayMetrics
    private let logger: Logger
    private let condition = ThreadCondition()
    // Guarded by `condition`.
    nonisolated(unsafe) private var inbox = Inbox()
    private let observation = Mutex(Observation())
    private let pool: Mutex<UpstreamWorkerPool?> = Mutex(nil)
    private let finished = DispatchSemaphore(value: 0)

    init(settings: Settings, writer: OutboxWriter, metrics: RelayMetrics, logger: Logger) {
        self.settings = settings
        self.writer = writer
        self.metrics = metrics
        self.logger = logger
    }

    /// Starts the worker pool and the drainer thread.
    func start(baseURL: String, key: APIKey, clientConfiguration: CurlHTTPClient.Configuration) throws(CurlError) {
        let pool = try UpstreamWorkerPool(
            count: settings.maximumInFlight, baseURL: baseURL, key: key, clientConfiguration: clientConfiguration, logger: logger
        ) { [weak self] id, outcome in
            self?.post { $0.completions.append((id, outcome)) }
        }
        self.pool.withLock { $0 = pool }
        DetachedThread.start(name: "drainer") { [self] in
            self.run(pool: pool)
            pool.shutdown()
            self.finished.signal()
        }
    }

    /// Rows up to `seq` are committed (called by the outbox writer after each commit).
    func rowsCommitted(upTo seq: Int64) {
        post { $0.committedSeq = max($0.committedSeq, seq) }
    }

    /// SIGHUP: use `key` from now on and resume a paused delivery at once.
    func reload(key: APIKey?) {
        if let key { pool.withLock { $0?.setKey(key) } }
        post { $0.resumeRequested = true }
    }

    /// Stops dispatching, lets in-flight requests finish within the stop timeout (their rows stay
    /// queued if they do not), records what they settled, and returns.
    func stop() {
        post { $0.stopRequested = true }
        finished.wait()
        finished.signal()
    }

    #if MILLIMETRIC_RELAY_TEST_HOOKS
    /// A test hook for the watchdog: the loop stops turning, as a wedged drainer would.
    func stallForTesting() {
        post { $0.stalledForTesting = true }
    }
    #endif

    var current: Observation { observation.withLock { $0 } }

    private func post(_ change: (inout Inbox) -> Void) {
        condition.lock()
        change(&inbox)
        condition.signal()
        condition.unlock()
    }

    // MARK: - The drainer thread

    /// Drainer-thread state.
    private struct Loop {
        var cursor = OutboxCursor()
        var inFlight: [UInt64: DeliveryUnit] = [:]
        var retryQueue: [DeliveryUnit] = []
        var nextID: UInt64 = 1
        var backoff: Backoff
        var notBefore = ContinuousClock.now
        /// The end of the latest wait the API asked for with `Retry-After`: unlike a backoff
        /// (the relay's own caution), a reload must not cut it short.
        var retryAfterUntil = ContinuousClock.now
        var pausedUntil: ContinuousClock.Instant?
        var state: UpstreamState = .idle
        /// Delivery paused (401/403/404) and nothing was delivered since: the next 2xx logs "resumed".
        var pauseUnresolved = false
        /// The `/v1/batch` request rate, adapted to the 429s of relays sharing the key (#12).
        var sendRate: SendRateController
        var trackBucket: TokenBucket
        /// The send rate last written to `delivery_state` for `status`, and when.
        var persistedSendRate: Double?
        var persistedSendRateAt = ContinuousClock.now
        var rng = SystemRandomNumberGenerator()

        var forgetInFlight: Bool { inFlight.values.contains { $0.kind == .forget } }

        /// Live units before backfill ones (the halves of a split topped-up batch are one of
        /// each), each lane in `seq` order.
        mutating func requeue(_ unit: DeliveryUnit) {
            func order(_ unit: DeliveryUnit) -> (Int, Int64) { (OutboxLane.of(seq: unit.firstSeq) == .live ? 0 : 1, unit.firstSeq) }
            let index = retryQueue.firstIndex { order($0) > order(unit) } ?? retryQueue.endIndex
            retryQueue.insert(unit, at: index)
        }
    }

    /// What the other threads posted since the last turn of the loop.
    private struct Mail {
        var completions: [(UInt64, UpstreamWorkerPool.Outcome)]
        var stop: Bool
        var resume: Bool
        var committed: Int64
    }

    /// What the loop does next.
    private enum Step {
        case send(DeliveryUnit)
        case wait(until: ContinuousClock.Instant)
        /// Wait for a row after `seq` to be committed, or until the deadline.
        case waitForRows(after: Int64, until: ContinuousClock.Instant)
        /// Look again at once (a retried unit's rows were all purged).
        case again
    }

    private func run(pool: UpstreamWorkerPool) {
        let reader: OutboxReader
        do {
            reader = try OutboxReader(path: settings.databasePath, flushInterval: settings.flushInterval)
        } catch {
            logger.critical("the drainer cannot open the outbox", metadata: ["sqlite.error": "\(error)"])
            return
        }
        defer { reader.close() }
        // One token less than the API's burst: the API counts a request when it arrives, a few
        // milliseconds after the relay counted it, and a bucket run to its last token would
        // draw a 429 from that skew alone.
        var loop = Loop(
            backoff: Backoff(base: settings.backoffBase, ceiling: settings.backoffCeiling),
            sendRate: SendRateController(
                ceilingRate: settings.batchRate, ceilingBurst: max(1, settings.batchBurst - 1), startingRate: settings.batchRate / 16),
            trackBucket: TokenBucket(rate: settings.trackRate, burst: max(1, settings.trackBurst - 1)))
        metrics.batchSendRate.record(loop.sendRate.rate)
        persistSendRate(loop: &loop, force: true)

        while true {
            observation.withLock { $0.heartbeat += 1 }
            let mail = collectMail()
            for (id, outcome) in mail.completions {
                if let unit = loop.inFlight.removeValue(forKey: id) {
                    handle(outcome, for: unit, loop: &loop)
                }
            }
            publish(loop)
            if mail.stop { break }
            if mail.resume { resume(loop: &loop) }

            switch nextStep(loop: &loop, reader: reader, committed: mail.committed) {
            case .send(let unit): submit(unit, loop: &loop, pool: pool)
            case .wait(let until): wait(until: until)
            case .waitForRows(let seq, let until): waitForRows(after: seq, until: until)
            case .again: continue
            }
        }

        shutDown(loop: &loop, pool: pool)
    }

    /// Takes what the other threads posted (and, under test hooks, stalls here when told to).
    private func collectMail() -> Mail {
        condition.lock()
        defer { condition.unlock() }
        #if MILLIMETRIC_RELAY_TEST_HOOKS
        while inbox.stalledForTesting { condition.wait() }
        #endif
        let mail = Mail(completions: inbox.completions, stop: inbox.stopRequested, resume: inbox.resumeRequested, committed: inbox.committedSeq)
        inbox.completions.removeAll()
        inbox.resumeRequested = false
        return mail
    }

    /// SIGHUP: try again now, whether paused or waiting out a backoff; but never sooner than a
    /// Retry-After the API asked for.
    private func resume(loop: inout Loop) {
        switch loop.state {
        case .paused, .backingOff:
            loop.pausedUntil = nil
            let now = ContinuousClock.now
            if loop.retryAfterUntil > now {
                loop.notBefore = loop.retryAfterUntil
                logger.info("resuming delivery once the API's Retry-After has passed", metadata: [
                    "delivery.retry_in_ms": "\(Int((loop.retryAfterUntil - now).timeInterval * 1000))",
                ])
            } else {
                logger.info("resuming delivery")
                loop.notBefore = now
                setState(.ok, loop: &loop)
            }
        case .idle, .ok:
            break
        }
    }

    /// The next unit to send, or how long to wait: the pause, the backoff, the in-flight limit
    /// and the forget ordering first; then retries in order; then new rows.
    private func nextStep(loop: inout Loop, reader: OutboxReader, committed: Int64) -> Step {
        let now = ContinuousClock.now
        if let until = loop.pausedUntil {
            if now < until { return .wait(until: until) }
            loop.pausedUntil = nil  // try again once a minute
        }
        if now < loop.notBefore { return .wait(until: loop.notBefore) }
        if loop.inFlight.count >= settings.maximumInFlight || loop.forgetInFlight { return .wait(until: now + .seconds(1)) }
        if !loop.retryQueue.isEmpty { return nextRetry(loop: &loop, reader: reader, now: now) }
        return nextNewUnit(loop: &loop, reader: reader, committed: committed, now: now)
    }

    /// The first unit of the retry queue, if its rate limit lets it go now.
    private func nextRetry(loop: inout Loop, reader: OutboxReader, now: ContinuousClock.Instant) -> Step {
        var unit = loop.retryQueue[0]
        if unit.kind == .forget && !loop.inFlight.isEmpty { return .wait(until: now + .seconds(1)) }
        if let wait = rateLimitWait(for: unit, loop: &loop, now: now) { return .wait(until: now + wait) }
        loop.retryQueue.removeFirst()
        // A forget since the first try may have purged some of its rows (SPEC §7): the copy
        // held here must not send them. Only what is still queued goes.
        if unit.kind != .forget {
            let queued: Set<Int64>
            do {
                queued = try reader.queuedSeqs(in: unit.seqRanges)
            } catch {
                logger.error("reading the outbox failed; retrying", metadata: ["sqlite.error": "\(error)"])
                loop.requeue(unit)
                return .wait(until: now + .seconds(1))
            }
            if queued.count < unit.rows.count {
                guard let kept = unit.keeping(queued) else { return .again }
                unit = kept
            }
        }
        takeRateLimitSlot(for: unit, loop: &loop, now: now)
        unit.sentBacklogged = unit.rows.count >= settings.maximumEvents
        return .send(unit)
    }

    /// New rows after the cursor: a batch goes when ``BatchScheduler`` says so (full, or the
    /// oldest row has waited `flush_interval`, and a send slot is free); an identify or forget
    /// goes when its bucket has a token.
    private func nextNewUnit(loop: inout Loop, reader: OutboxReader, committed: Int64, now: ContinuousClock.Instant) -> Step {
        let rows: [QueuedRow]
        let closed: Bool
        do {
            (rows, closed) = try reader.nextUnit(after: loop.cursor, maximumEvents: settings.maximumEvents, maximumBodyBytes: settings.maximumBodyBytes)
        } catch {
            logger.error("reading the outbox failed; retrying", metadata: ["sqlite.error": "\(error)"])
            return .wait(until: now + .seconds(1))
        }
        guard let first = rows.first else { return .waitForRows(after: loop.cursor.live, until: now + .seconds(1)) }
        // A forget goes only after every earlier request has settled (SPEC §7).
        if first.kind == .forget && !loop.inFlight.isEmpty { return .wait(until: now + .seconds(1)) }
        var unit = DeliveryUnit(rows[...])
        if first.kind == .track {
            // Closed by a limit or a row of another kind, or more committed rows than a batch
            // holds: the batch cannot grow, so it counts as full.
            let full = closed || committed - rows.last!.seq >= Int64(settings.maximumEvents)
            let age = Duration.milliseconds(max(0, Self.nowMilliseconds - first.receivedAt))
            let decision = BatchScheduler.decide(
                now: now, queued: full ? settings.maximumEvents : rows.count, oldestQueuedAt: now - age,
                flushInterval: loop.sendRate.flushInterval(configured: settings.flushInterval),
                maximumEvents: settings.maximumEvents, slotDelay: loop.sendRate.delayUntilSlot(now: now))
            switch decision {
            case .wait(let until) where loop.sendRate.delayUntilSlot(now: now) > .zero:
                // Waiting for a send slot: the rows stay queued, so the batch fills meanwhile.
                return .wait(until: until)
            case .wait(let until):
                // Not full: wait until the oldest has waited flush_interval, or more rows come.
                return .waitForRows(after: loop.cursor.live + Int64(settings.maximumEvents) - 1, until: until + .milliseconds(1))
            case .send:
                break
            }
        } else if let wait = rateLimitWait(for: unit, loop: &loop, now: now) {
            return .wait(until: now + wait)
        }
        // A topped-up batch moves both lanes' cursors.
        for range in unit.seqRanges { loop.cursor.advance(past: range.upperBound) }
        takeRateLimitSlot(for: unit, loop: &loop, now: now)
        // Backlogged: a full batch with another full batch committed behind it.
        unit.sentBacklogged = unit.rows.count >= settings.maximumEvents && committed - unit.rows.last!.seq >= Int64(settings.maximumEvents)
        return .send(unit)
    }

    /// How long until `unit`'s rate limit lets it go, or nil if it may go now.
    private func rateLimitWait(for unit: DeliveryUnit, loop: inout Loop, now: ContinuousClock.Instant) -> Duration? {
        let delay = unit.usesTrackClassLimit ? loop.trackBucket.delayUntilAvailable(now: now) : loop.sendRate.delayUntilSlot(now: now)
        return delay > .zero ? delay : nil
    }

    private func takeRateLimitSlot(for unit: DeliveryUnit, loop: inout Loop, now: ContinuousClock.Instant) {
        if unit.usesTrackClassLimit {
            _ = loop.trackBucket.take(now: now)
        } else {
            let before = loop.sendRate.rate
            _ = loop.sendRate.takeSlot(now: now, using: &loop.rng)
            // Slow start grows the rate at each slot.
            if loop.sendRate.rate != before { sendRateChanged(loop: &loop) }
        }
    }

    private func submit(_ unit: DeliveryUnit, loop: inout Loop, pool: UpstreamWorkerPool) {
        let id = loop.nextID
        loop.nextID += 1
        // Encoded once: the unit keeps the body, not its rows' copies of it (issue #11).
        var unit = unit
        let body = unit.encode()
        loop.inFlight[id] = unit
        pool.submit(.init(id: id, path: unit.path, body: body))
    }

    /// SIGTERM: wait for in-flight requests (bounded), then abort the rest; settle what came
    /// back, and wait until those settlements are committed.
    private func shutDown(loop: inout Loop, pool: UpstreamWorkerPool) {
        let deadline = ContinuousClock.now + settings.stopTimeout
        var aborted = false
        while !loop.inFlight.isEmpty {
            if !aborted && ContinuousClock.now >= deadline {
                logger.warning("aborting requests still in flight at the stop timeout; their events stay queued", metadata: ["delivery.in_flight": "\(loop.inFlight.count)"])
                pool.abortAll()
                aborted = true
            }
            condition.lock()
            if inbox.completions.isEmpty { _ = condition.wait(until: Date() + 0.05) }
            let completions = inbox.completions
            inbox.completions.removeAll()
            condition.unlock()
            for (id, outcome) in completions {
                if let unit = loop.inFlight.removeValue(forKey: id) { handle(outcome, for: unit, loop: &loop) }
            }
        }
        condition.lock()
        while inbox.pendingSettlements > 0 { condition.wait() }
        condition.unlock()
        publish(loop)
        logger.debug("drainer stopped")
    }

    private func wait(until deadline: ContinuousClock.Instant) {
        let seconds = (deadline - .now).timeInterval
        condition.lock()
        if inbox.completions.isEmpty && !inbox.stopRequested && !inbox.resumeRequested && seconds > 0 {
            _ = condition.wait(until: Date() + min(seconds, 1))
        }
        condition.unlock()
    }

    /// Waits until a row after `seq` is committed, something else needs attention, or the deadline.
    private func waitForRows(after seq: Int64, until deadline: ContinuousClock.Instant) {
        let seconds = (deadline - .now).timeInterval
        condition.lock()
        if inbox.committedSeq <= seq && inbox.completions.isEmpty && !inbox.stopRequested && !inbox.resumeRequested && seconds > 0 {
            _ = condition.wait(until: Date() + min(seconds, 1))
        }
        condition.unlock()
    }

    // MARK: - Answers

    private func handle(_ outcome: UpstreamWorkerPool.Outcome, for unit: DeliveryUnit, loop: inout Loop) {
        let verdict: UpstreamVerdict
        var response: HTTPResponse?
        switch outcome {
        case .response(let answer):
            response = answer
            verdict = UpstreamVerdict(response: answer, request: unit.request, now: Date())
            metrics.upstreamRequest(path: unit.path, status: answer.status)
            metrics.requestDuration.recordNanoseconds(Int64(answer.duration.timeInterval * 1e9))
        case .failure(let error):
            if error.kind == .aborted {
                // Shutdown cut it short: the rows stay queued for the next start.
                return
            }
            verdict = UpstreamVerdict(transportError: error)
            metrics.upstreamRequest(path: unit.path, status: 0)
        }
        let now = ContinuousClock.now
        switch verdict {
        case .delivered:
            loop.backoff.reset()
            if loop.pauseUnresolved {
                // Said once the API accepts again, not at SIGHUP: only a delivery proves the fix.
                loop.pauseUnresolved = false
                logger.notice("delivery resumed after a pause", metadata: [RelayMessageID.metadataKey: .messageID(RelayMessageID.deliveryResumed)])
            }
            setState(.ok, loop: &loop)
            if unit.kind == .track {
                loop.sendRate.recordSuccess(now: now, backlogged: unit.sentBacklogged)
                sendRateChanged(loop: &loop)
            }
            settle(Settlement(delivered: unit.seqRanges))
        case .rateLimited(let retryAfter, let reason):
            if unit.usesTrackClassLimit {
                loop.trackBucket.drain(now: now)
            } else {
                loop.sendRate.recordRateLimited(now: now, retryAfter: retryAfter)
                sendRateChanged(loop: &loop)
            }
            // At least Retry-After, as the API asks; capped at an hour so a garbled header
            // cannot stall delivery for days.
            var delay = min(retryAfter ?? loop.backoff.nextDelay(using: &loop.rng), .seconds(3600))
            // Jitter on top of Retry-After, so relays sharing a key do not come back in step.
            delay += .milliseconds(Int64.random(in: 0...250, using: &loop.rng))
            if retryAfter != nil { loop.retryAfterUntil = max(loop.retryAfterUntil, now + delay) }
            backOff(delay, reason: reason, unit: unit, loop: &loop)
        case .retryable(let reason):
            backOff(loop.backoff.nextDelay(using: &loop.rng), reason: reason, unit: unit, loop: &loop)
        case .split(_, let reason):
            logger.debug("the API refused a batch; splitting it", metadata: ["delivery.events": "\(unit.rows.count)", "upstream.reason": "\(reason)"])
            let (left, right) = unit.split()
            loop.requeue(left)
            loop.requeue(right)
        case .refused(let status, let reason):
            let row = unit.rows.first!
            let answer = response.map { String(decoding: $0.body, as: UTF8.self) } ?? reason
            if unit.kind == .forget {
                logger.error("the API refused a forget for good; it is kept in the dead letters", metadata: [
                    "event.id": "\(row.eventID)", "upstream.reason": "\(reason)", RelayMessageID.metadataKey: .messageID(RelayMessageID.deadLettered),
                ])
            } else {
                logger.warning("the API refused an event for good; it is dead-lettered", metadata: [
                    "event.id": "\(row.eventID)", "upstream.reason": "\(reason)", RelayMessageID.metadataKey: .messageID(RelayMessageID.deadLettered),
                ])
            }
            var settlement = Settlement(deadLetters: [.init(seq: row.seq, status: status, response: answer)])
            settlement.state = [("last_error", .text(reason)), ("last_error_at", .integer(Self.nowMilliseconds))]
            settle(settlement)
        case .paused(let reason):
            loop.requeue(unit)
            if case .paused = loop.state {} else {
                logger.error("delivery paused; retrying every minute and at once on SIGHUP", metadata: [
                    "upstream.reason": "\(reason)", RelayMessageID.metadataKey: .messageID(RelayMessageID.deliveryPaused),
                ])
            }
            loop.pauseUnresolved = true
            loop.pausedUntil = now + settings.pausedRetryInterval
            setState(.paused(reason: reason), loop: &loop, error: reason)
        }
    }

    private func backOff(_ delay: Duration, reason: String, unit: DeliveryUnit, loop: inout Loop) {
        loop.requeue(unit)
        let until = ContinuousClock.now + delay
        if until > loop.notBefore { loop.notBefore = until }
        logger.warning("upstream failed; backing off", metadata: ["upstream.reason": "\(reason)", "delivery.retry_in_ms": "\(Int(delay.timeInterval * 1000))"])
        setState(.backingOff(until: Date() + delay.timeInterval, reason: reason), loop: &loop, error: reason)
    }

    private func setState(_ state: UpstreamState, loop: inout Loop, error: String? = nil) {
        var values: [(String, DeliveryStateValue)] = []
        if state != loop.state {
            loop.state = state
            values += state.persisted
        }
        if let error {
            values += [("last_error", .text(error)), ("last_error_at", .integer(Self.nowMilliseconds))]
        }
        if !values.isEmpty { writer.setState(values) }
    }

    private func settle(_ settlement: Settlement) {
        post { $0.pendingSettlements += 1 }
        writer.settle(settlement) { [self] result in
            switch result {
            case .success(let settled):
                // What the commit removed, not what was sent: rows a forget purged while their
                // request was in flight were neither delivered from the outbox nor dead-lettered.
                metrics.eventsDelivered.increment(by: settled.deliveredRows)
                metrics.eventsDeadLettered.increment(by: settled.deadLettered)
            case .failure(let error):
                // Deleting needs room in the WAL too: on a full disk a settlement can fail. The
                // drainer's cursor has moved past these rows, so record them again until it
                // works; left queued, they would count against the cap until a restart. If the
                // outbox is closing, they stay queued and are sent again after the restart,
                // with the same event_ids.
                if case .closed = error {
                    logger.warning("recording a delivery failed at shutdown; the events stay queued and are sent again after the restart")
                } else {
                    logger.error("recording a delivery failed; retrying in a second", metadata: ["outbox.error": "\(error)"])
                    DispatchQueue.global().asyncAfter(deadline: .now() + 1) { [self] in settle(settlement) }
                }
            }
            post { $0.pendingSettlements -= 1 }
        }
    }

    private func publish(_ loop: Loop) {
        observation.withLock {
            $0.state = loop.state
            $0.inFlight = loop.inFlight.count
        }
    }

    /// The gauge follows the rate at once; `delivery_state` (what `status` reads) at once when
    /// it moved by 4 % or more (every cut on a 429), otherwise at most every 5 s, so the small
    /// steps of the increase cost few writes.
    private func sendRateChanged(loop: inout Loop) {
        metrics.batchSendRate.record(loop.sendRate.rate)
        persistSendRate(loop: &loop, force: false)
    }

    private func persistSendRate(loop: inout Loop, force: Bool) {
        let rate = loop.sendRate.rate
        let now = ContinuousClock.now
        if !force, let persisted = loop.persistedSendRate {
            let moved = abs(rate - persisted)
            if moved == 0 || (moved < 0.04 * persisted && now - loop.persistedSendRateAt < .seconds(5)) { return }
        }
        loop.persistedSendRate = rate
        loop.persistedSendRateAt = now
        writer.setState([(OutboxStateKey.batchSendRateMillis, .integer(Int64((rate * 1000).rounded())))])
    }

    private static var nowMilliseconds: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}

extension Duration {
    /// Seconds as a Double, for Foundation and libc APIs.
    var timeInterval: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
