import FoundationEssentials
import Logging
import NIOCore
import ServiceLifecycle
import SystemdSupport

/// Talks to systemd while the daemon runs (SPEC §8): `READY=1` once started, `STATUS=` with the
/// queue and upstream state (on change, at most once a second), `WATCHDOG=1` only while ingest
/// and delivery both make progress, `STOPPING=1` on shutdown. It also refreshes the gauges.
///
/// Liveness is judged from heartbeats: the outbox writer's thread, the drainer's loop and an
/// event loop of the socket server must each have turned since the last check. Backing off or
/// paused still turns; a wedged thread does not, so systemd restarts the daemon.
struct SystemdService: Service {
    let notifier = SystemdNotifier()
    let watchdog: WatchdogConfiguration?
    let writer: OutboxWriter
    let drainer: Drainer
    let eventLoop: any EventLoop
    let metrics: RelayMetrics
    let logger: Logger

    func run() async throws {
        notify([.ready, .status(statusLine())])
        logger.info("ready", metadata: ["systemd.watchdog": "\(watchdog.map { "\($0.interval)" } ?? "off")"])
        let tick: Duration = min(.seconds(1), watchdog?.pingInterval ?? .seconds(1))
        var lastStatus = ""
        var lastStatusAt = ContinuousClock.now - .seconds(2)
        // Each loop turns at least once a second even when idle; one that has not turned for
        // `staleAfter` is wedged.
        let staleAfter: Duration = .milliseconds(2500)
        var writerBeat = (value: writer.heartbeatValue, changedAt: ContinuousClock.now)
        var drainerBeat = (value: drainer.current.heartbeat, changedAt: ContinuousClock.now)
        var lastPing = ContinuousClock.now - .seconds(60)
        var reportedStall = false
        let eventLoopProbe = EventLoopProbe(eventLoop: eventLoop)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: tick)
            let now = ContinuousClock.now
            let status = statusLine()
            if status != lastStatus && now - lastStatusAt >= .seconds(1) {
                notify([.status(status)])
                lastStatus = status
                lastStatusAt = now
            }
            updateGauges()
            guard let watchdog else { continue }
            if writer.heartbeatValue != writerBeat.value { writerBeat = (writer.heartbeatValue, now) }
            if drainer.current.heartbeat != drainerBeat.value { drainerBeat = (drainer.current.heartbeat, now) }
            let writerAlive = now - writerBeat.changedAt < staleAfter
            let drainerAlive = now - drainerBeat.changedAt < staleAfter
            // Bounded: a wedged event loop must stop the pings, not this loop.
            let loopAlive = await eventLoopProbe.responds(within: .seconds(1))
            if writerAlive && drainerAlive && loopAlive {
                reportedStall = false
                if now - lastPing >= watchdog.pingInterval - tick / 2 {
                    notify([.watchdog])
                    lastPing = now
                }
            } else if !reportedStall {
                reportedStall = true
                logger.error("not pinging the watchdog: a part of the relay stopped turning", metadata: [
                    "watchdog.outbox_writer": "\(writerAlive)", "watchdog.drainer": "\(drainerAlive)", "watchdog.event_loop": "\(loopAlive)",
                ])
            }
        }
        notify([.stopping, .status("stopping: acking what was read, finishing in-flight requests")])
    }

    private func statusLine() -> String {
        let snapshot = writer.snapshot
        let drain = drainer.current
        return "queued \(snapshot.queuedEvents) events (\(snapshot.storedBytes) bytes); upstream \(drain.state.summary); \(drain.inFlight) in flight"
    }

    private func updateGauges() {
        let snapshot = writer.snapshot
        metrics.queueDepth.record(snapshot.queuedEvents)
        metrics.outboxBytes.record(snapshot.storedBytes)
        let age = snapshot.oldestReceivedAt.map { max(0, Date().timeIntervalSince1970 - Double($0) / 1000) } ?? 0
        metrics.oldestEventAgeSeconds.record(age)
    }

    private func notify(_ states: [SystemdNotifier.State]) {
        do {
            try notifier.send(states)
        } catch {
            logger.warning("sd_notify failed", metadata: ["systemd.error": "\(error)"])
        }
    }
}
