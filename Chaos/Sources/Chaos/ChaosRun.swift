import ChaosSupport
import Foundation
import MillimetricRelay
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
    func run() throws(ChaosError) -> Bool {
        let directory = settings.workDirectory
        let standIn = try StandIn(executable: settings.standInExecutable, logPath: (directory as NSString).appendingPathComponent("standin.log"))
        defer { standIn.stop() }
        let relay = Relay(executable: settings.relayExecutable, directory: directory, host: standIn.baseURL)
        try relay.start()
        defer { relay.terminate() }

        let producers = (0..<settings.producers).map {
            Producer(index: $0, socketPath: relay.socketPath, ratePerSecond: settings.ratePerProducer)
        }
        let producersDone = DispatchSemaphore(value: 0)
        for producer in producers {
            Thread.detachNewThread { [control] in
                producer.run(control: control)
                producersDone.signal()
            }
        }
        let helpersDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread { [self] in
            killLoop(relay: relay, standIn: standIn, producers: producers)
            helpersDone.signal()
        }
        Thread.detachNewThread { [self] in
            faultLoop(standIn: standIn)
            helpersDone.signal()
        }

        // The chaos phase, with a progress line every 10 s.
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

        // Stop: no new events; the killer and the fault thread stop; the upstream heals.
        control.stopProducing(grace: .seconds(120))
        helpersDone.wait()
        helpersDone.wait()
        if let reason = failure.withLock({ $0 }) { throw ChaosError(reason) }
        var generator = SystemRandomNumberGenerator()
        try standIn.setFaults(UpstreamFault.healthy.settings(using: &generator))
        if !relay.isRunning { try relay.start() }
        let finishStart = ContinuousClock.now
        for _ in producers { producersDone.wait() }
        let finishTime = ContinuousClock.now - finishStart

        // Wait until the API holds every acked event and the outbox is empty.
        let totals = producers.map(\.snapshot)
        let acked = totals.flatMap(\.acked)
        let ackedSet = Set(acked)
        let drainStart = ContinuousClock.now
        var drained = false
        while ContinuousClock.now - drainStart < settings.drainTimeout {
            let events = (try? standIn.stats())?["events"] as? Int ?? 0
            let queued = (try? relay.status())?.queuedEvents ?? -1
            if events >= ackedSet.count && queued == 0 {
                drained = true
                break
            }
            usleep(250_000)
        }
        let drainTime = ContinuousClock.now - drainStart

        // Compare.
        let stats = try standIn.stats()
        let stored = try standIn.storedEventIDs()
        let storedSet = Set(stored)
        let lost = ackedSet.subtracting(storedSet)
        let delivered = ackedSet.count - lost.count
        let generated = Dictionary(uniqueKeysWithValues: totals.enumerated().map { ($0.offset, $0.element.generated) })
        let phantoms = storedSet.filter { id in
            let parts = id.dropFirst().split(separator: "-")
            guard id.hasPrefix("p"), parts.count == 2, let producer = Int(parts[0]), let sequence = Int(parts[1]),
                let count = generated[producer]
            else { return true }
            return sequence >= count
        }
        let duplicates = stats["duplicates"] as? Int ?? -1
        let status = try? relay.status()
        let exitStatus = relay.terminate()
        let violations = totals.flatMap(\.violations)
        let unacked = totals.flatMap(\.unacked)
        let killList = kills.withLock { $0 }

        // Report.
        let seconds = Double(settings.duration.components.seconds)
        say(
            "chaos: \(Int(seconds)) s of chaos, \(settings.producers) producers at \(Int(settings.ratePerProducer))/s each, seed \(settings.seed); work dir \(directory)")
        say(
            "chaos: events generated \(totals.reduce(0) { $0 + $1.generated }), acked \(acked.count) (\(Int(Double(acked.count) / seconds))/s), lines resent \(totals.reduce(0) { $0 + $1.resent }), connections \(totals.reduce(0) { $0 + $1.connections }) (refused while down \(totals.reduce(0) { $0 + $1.connectFailures }))")
        let refusals = totals.reduce(into: [String: Int]()) { sum, t in sum.merge(t.refusals, uniquingKeysWith: +) }
        if !refusals.isEmpty {
            say("chaos: transient refusals (resent): \(refusals.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " "))")
        }
        say(
            "chaos: kills \(killList.count): \(killList.filter { $0.linesAwaitingAck > 0 }.count) with lines awaiting their commit, \(killList.filter(\.duringDelivery).count) within 150 ms of a delivery request, \(killList.filter { $0.fault != .healthy }.count) while the upstream was failing")
        let faults = faultCounts.withLock { $0 }
        say("chaos: upstream states: \(UpstreamFault.allCases.map { "\($0.rawValue)×\(faults[$0] ?? 0)" }.joined(separator: " "))")
        if let byStatus = stats["by_status"] as? [String: Int] {
            say("chaos: API answers: \(byStatus.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")), dropped×\(stats["dropped"] as? Int ?? 0)")
        }
        say(
            "chaos: finishing unacked lines took \(Self.format(finishTime)), delivery after the chaos \(Self.format(drainTime))\(drained ? "" : " (gave up)"); relay exit status \(exitStatus); dead letters \(status.map { String($0.deadLetters) } ?? "?")")

        var problems: [String] = []
        if !lost.isEmpty { problems.append("lost (acked, never arrived): \(lost.sorted().prefix(10).joined(separator: ", "))") }
        if !phantoms.isEmpty { problems.append("arrived but never sent: \(phantoms.sorted().prefix(10).joined(separator: ", "))") }
        if acked.count != ackedSet.count { problems.append("\(acked.count - ackedSet.count) lines acked twice") }
        if !violations.isEmpty { problems.append("protocol violations: \(violations.prefix(5).joined(separator: " | "))") }
        if !unacked.isEmpty { problems.append("\(unacked.count) events never acked (gave up)") }
        if (status?.deadLetters ?? 0) > 0 { problems.append("\(status!.deadLetters) dead letters") }
        if exitStatus != 0 { problems.append("the relay exited with \(exitStatus) on SIGTERM") }
        if !drained { problems.append("delivery did not finish within \(settings.drainTimeout)") }
        for problem in problems { say("chaos: FAILED: \(problem)") }
        say("chaos: acked=\(ackedSet.count) delivered=\(delivered) lost=\(lost.count) duplicates=\(duplicates) kills=\(killList.count)")
        return problems.isEmpty
    }

    // MARK: - Helper threads

    /// SIGKILLs the relay at random moments and restarts it on the same state directory.
    private func killLoop(relay: Relay, standIn: StandIn, producers: [Producer]) {
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
            let before = (try? standIn.stats())?["requests"] as? Int ?? 0
            var after = before
            if round % 3 == 0 {
                let deadline = ContinuousClock.now + .seconds(2)
                while after == before && ContinuousClock.now < deadline && control.producing {
                    usleep(10_000)
                    after = (try? standIn.stats())?["requests"] as? Int ?? 0
                }
            } else {
                guard sleep(seconds: 0.15) else { return }
            }
            guard control.producing else { return }
            let awaiting = producers.reduce(0) { $0 + $1.linesAwaitingAck }
            relay.kill9()
            if round % 3 != 0 { after = (try? standIn.stats())?["requests"] as? Int ?? 0 }
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
    private func faultLoop(standIn: StandIn) {
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

    static func format(_ duration: Duration) -> String {
        String(format: "%.1f s", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }
}
