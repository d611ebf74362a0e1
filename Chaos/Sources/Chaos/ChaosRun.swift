import Foundation
import MillimetricRelay
import RelayTestKit
import Synchronization

/// One chaos run: start the stand-in and the relay, stream from the producers while a killer
/// thread SIGKILLs and restarts the relay and a fault thread flaps the upstream, then stop
/// producing, heal the upstream, finish every unacked line, wait for delivery and compare.
final class ChaosRun: Sendable {
    let settings: ChaosSettings
    private let control = RunControl()
    private let kills = Mutex<[KillRecord]>([])
    private let faultCounts = Mutex<[UpstreamFault: Int]>([:])
    private let currentFault = Mutex<UpstreamFault>(.healthy)
    private let failure = Mutex<String?>(nil)

    init(settings: ChaosSettings) {
        self.settings = settings
    }

    /// Runs to the end and prints the figures; returns whether nothing was lost (and no other
    /// check failed).
    func run() throws(TestKitError) -> Bool {
        let directory = try TemporaryDirectory(existing: settings.workDirectory)
        // Rate limits stay on: a relay restarted with full token buckets may draw a real 429.
        let standIn = try StandInProcess(executable: settings.standInExecutable, directory: directory)
        defer { standIn.stop() }
        let relay = try RelayProcess(
            executable: settings.relayExecutable, directory: directory.path, host: standIn.baseURL,
            key: "sk_test_chaos_0001", settings: ["flush_interval": "100ms"])
        defer { relay.terminate() }

        let producers = (0..<settings.producers).map {
            Producer(index: $0, socketPath: relay.socketPath, ratePerSecond: settings.ratePerProducer)
        }
        let producersDone = start(producers)
        try chaos(relay: relay, standIn: standIn, producers: producers)
        let finishTime = try finish(relay: relay, standIn: standIn, producersDone: producersDone, count: producers.count)
        let totals = producers.map(\.snapshot)
        let (drained, drainTime) = waitForDelivery(of: Set(totals.flatMap(\.acked)).count, relay: relay, standIn: standIn)

        let outcome = ChaosOutcome(
            settings: settings, totals: totals, stored: Set(try standIn.events().compactMap { $0["event_id"] as? String }),
            counters: try standIn.counters(), outboxStatus: try? relay.outboxStatus(), relayExitStatus: relay.terminate(),
            kills: kills.withLock { $0 }, faults: faultCounts.withLock { $0 }, finishTime: finishTime,
            drainTime: drainTime, drained: drained)
        for line in outcome.report { say(line) }
        let problems = outcome.problems
        for problem in problems { say("chaos: FAILED: \(problem)") }
        say(outcome.summary)
        return problems.isEmpty
    }

    // MARK: - Phases

    /// Starts one thread per producer; the semaphore is signalled once per producer that ends.
    private func start(_ producers: [Producer]) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        for producer in producers {
            Thread.detachNewThread { [control] in
                producer.run(control: control)
                done.signal()
            }
        }
        return done
    }

    /// The chaos phase: the killer and the fault thread run for the set duration, with a
    /// progress line every 10 s; then production stops and both threads end.
    private func chaos(relay: RelayProcess, standIn: StandInProcess, producers: [Producer]) throws(TestKitError) {
        let helpersDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread { [self] in
            killLoop(relay: relay, standIn: standIn, producers: producers)
            helpersDone.signal()
        }
        Thread.detachNewThread { [self] in
            faultLoop(standIn: standIn)
            helpersDone.signal()
        }
        let start = ContinuousClock.now
        let end = start + settings.duration
        var nextReport = start + .seconds(10)
        while ContinuousClock.now < end && failure.withLock({ $0 }) == nil {
            usleep(100_000)
            if ContinuousClock.now >= nextReport {
                nextReport += .seconds(10)
                let acked = producers.reduce(0) { $0 + $1.snapshot.acked.count }
                say("chaos: t=\(Int((ContinuousClock.now - start) / .seconds(1)))s acked=\(acked) kills=\(kills.withLock { $0.count }) upstream=\(currentFault.withLock { $0.rawValue })")
            }
        }
        control.stopProducing(grace: .seconds(120))
        helpersDone.wait()
        helpersDone.wait()
        if let reason = failure.withLock({ $0 }) { throw TestKitError(reason) }
    }

    /// Heals the upstream, makes sure the relay runs, and waits until every producer has
    /// finished its unacked lines; returns how long that took.
    private func finish(relay: RelayProcess, standIn: StandInProcess, producersDone: DispatchSemaphore, count: Int)
        throws(TestKitError) -> Duration
    {
        var generator = SystemRandomNumberGenerator()
        try standIn.setFaults(UpstreamFault.healthy.settings(using: &generator))
        if !relay.isRunning { try relay.start() }
        let start = ContinuousClock.now
        for _ in 0..<count { producersDone.wait() }
        return ContinuousClock.now - start
    }

    /// Waits until the API holds `acked` events and the outbox is empty, at most the drain
    /// timeout; returns whether it got there, and how long it waited.
    private func waitForDelivery(of acked: Int, relay: RelayProcess, standIn: StandInProcess) -> (Bool, Duration) {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < settings.drainTimeout {
            let events = (try? standIn.counters())?.events ?? 0
            let queued = (try? relay.outboxStatus())?.queuedEvents ?? -1
            if events >= acked && queued == 0 { return (true, ContinuousClock.now - start) }
            usleep(250_000)
        }
        return (false, ContinuousClock.now - start)
    }

    // MARK: - Helper threads

    /// SIGKILLs the relay at random moments and restarts it on the same state directory.
    private func killLoop(relay: RelayProcess, standIn: StandInProcess, producers: [Producer]) {
        var generator = SplitMix64(seed: settings.seed &+ 1)
        var round = 0
        while control.producing {
            round += 1
            let gap = Double.random(in: settings.killGap, using: &generator)
            // Sample the stand-in's request count shortly before the kill, to tell whether a
            // delivery request was under way. Every third kill waits for a request to arrive
            // (up to 2 s) and strikes within about 10 ms of it: the relay has sent a batch and
            // not yet recorded the answer.
            guard sleep(seconds: max(0, gap - 0.15)) else { return }
            let before = (try? standIn.counters())?.requests ?? 0
            var after = before
            if round % 3 == 0 {
                let deadline = ContinuousClock.now + .seconds(2)
                while after == before && ContinuousClock.now < deadline && control.producing {
                    usleep(10_000)
                    after = (try? standIn.counters())?.requests ?? 0
                }
            } else {
                guard sleep(seconds: 0.15) else { return }
            }
            guard control.producing else { return }
            let awaiting = producers.reduce(0) { $0 + $1.linesAwaitingAck }
            relay.kill9()
            if round % 3 != 0 { after = (try? standIn.counters())?.requests ?? 0 }
            let record = KillRecord(linesAwaitingAck: awaiting, duringDelivery: after > before, fault: currentFault.withLock { $0 })
            kills.withLock { $0.append(record) }
            usleep(UInt32.random(in: 0...300_000, using: &generator))
            var attempts = 0
            while true {
                do {
                    try relay.start()
                    break
                } catch {
                    attempts += 1
                    if attempts == 3 {
                        failure.withLock { $0 = "the relay did not come back after kill \(kills.withLock { $0.count }): \(error)" }
                        return
                    }
                }
            }
        }
    }

    /// Flaps the upstream between healthy and failing states.
    private func faultLoop(standIn: StandInProcess) {
        var generator = SplitMix64(seed: settings.seed &+ 2)
        while control.producing {
            let fault = UpstreamFault.pick(using: &generator)
            do {
                try standIn.setFaults(fault.settings(using: &generator))
            } catch {
                failure.withLock { $0 = "cannot set faults: \(error)" }
                return
            }
            currentFault.withLock { $0 = fault }
            faultCounts.withLock { $0[fault, default: 0] += 1 }
            guard sleep(seconds: Double.random(in: settings.faultHold, using: &generator)) else { return }
        }
    }

    /// Sleeps, waking early (false) when the chaos phase ends.
    private func sleep(seconds: Double) -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1_000))
        while ContinuousClock.now < deadline {
            if !control.producing { return false }
            usleep(20_000)
        }
        return control.producing
    }
}
