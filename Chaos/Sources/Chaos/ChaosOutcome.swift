import Foundation
import MillimetricRelay
import RelayTestKit

/// What one chaos run measured, gathered once the upstream holds everything (or the drain
/// gave up): the figures it prints and the checks that decide whether it passed. Pure: no
/// process, socket or clock, so the verdict reads apart from the I/O that led to it.
struct ChaosOutcome {
    var settings: ChaosSettings
    var totals: [Producer.Totals]
    /// The event_ids the stand-in stored.
    var stored: Set<String>
    var counters: StandInProcess.Counters
    var outboxStatus: OutboxStatus?
    var relayExitStatus: Int32
    var kills: [KillRecord]
    var faults: [UpstreamFault: Int]
    var finishTime: Duration
    var drainTime: Duration
    var drained: Bool

    var acked: [String] { totals.flatMap(\.acked) }
    var ackedSet: Set<String> { Set(acked) }
    var lost: Set<String> { ackedSet.subtracting(stored) }

    /// Stored ids no producer ever generated (`pN-SEQ` with SEQ past what producer N made).
    var phantoms: [String] {
        let generated = Dictionary(uniqueKeysWithValues: totals.enumerated().map { ($0.offset, $0.element.generated) })
        return stored.filter { id in
            let parts = id.dropFirst().split(separator: "-")
            guard id.hasPrefix("p"), parts.count == 2, let producer = Int(parts[0]), let sequence = Int(parts[1]),
                let count = generated[producer]
            else { return true }
            return sequence >= count
        }.sorted()
    }

    /// Every failed check, one line each; empty when the run passed.
    var problems: [String] {
        let acked = acked
        let ackedSet = Set(acked)
        let violations = totals.flatMap(\.violations)
        let unacked = totals.flatMap(\.unacked)
        var problems: [String] = []
        if !lost.isEmpty { problems.append("lost (acked, never arrived): \(lost.sorted().prefix(10).joined(separator: ", "))") }
        if !phantoms.isEmpty { problems.append("arrived but never sent: \(phantoms.prefix(10).joined(separator: ", "))") }
        if acked.count != ackedSet.count { problems.append("\(acked.count - ackedSet.count) lines acked twice") }
        if !violations.isEmpty { problems.append("protocol violations: \(violations.prefix(5).joined(separator: " | "))") }
        if !unacked.isEmpty { problems.append("\(unacked.count) events never acked (gave up)") }
        if let deadLetters = outboxStatus?.deadLetters, deadLetters > 0 { problems.append("\(deadLetters) dead letters") }
        if relayExitStatus != 0 { problems.append("the relay exited with \(relayExitStatus) on SIGTERM") }
        if !drained { problems.append("delivery did not finish within \(settings.drainTimeout)") }
        return problems
    }

    /// The figures, as the lines the run prints before its verdict.
    var report: [String] {
        let seconds = Double(settings.duration.components.seconds)
        let acked = acked
        func sum(_ value: (Producer.Totals) -> Int) -> Int { totals.reduce(0) { $0 + value($1) } }
        func tally(_ counts: [String: Int]) -> String {
            counts.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
        }
        var lines = [
            "chaos: \(Int(seconds)) s of chaos, \(settings.producers) producers at \(Int(settings.ratePerProducer))/s each, seed \(settings.seed); work dir \(settings.workDirectory)",
            "chaos: events generated \(sum(\.generated)), acked \(acked.count) (\(Int(Double(acked.count) / seconds))/s), lines resent \(sum(\.resent)), connections \(sum(\.connections)) (refused while down \(sum(\.connectFailures)))",
        ]
        let refusals = totals.reduce(into: [String: Int]()) { sum, t in sum.merge(t.refusals, uniquingKeysWith: +) }
        if !refusals.isEmpty { lines.append("chaos: transient refusals (resent): \(tally(refusals))") }
        lines.append(
            "chaos: kills \(kills.count): \(kills.filter { $0.linesAwaitingAck > 0 }.count) with lines awaiting their commit, \(kills.filter(\.duringDelivery).count) within 150 ms of a delivery request, \(kills.filter { $0.fault != .healthy }.count) while the upstream was failing")
        lines.append("chaos: upstream states: \(UpstreamFault.allCases.map { "\($0.rawValue)×\(faults[$0] ?? 0)" }.joined(separator: " "))")
        lines.append("chaos: API answers: \(tally(counters.byStatus)), dropped×\(counters.dropped)")
        lines.append(
            "chaos: finishing unacked lines took \(Self.format(finishTime)), delivery after the chaos \(Self.format(drainTime))\(drained ? "" : " (gave up)"); relay exit status \(relayExitStatus); dead letters \(outboxStatus.map { String($0.deadLetters) } ?? "?")")
        return lines
    }

    /// The last line, which CI greps.
    var summary: String {
        "chaos: acked=\(ackedSet.count) delivered=\(ackedSet.count - lost.count) lost=\(lost.count) duplicates=\(counters.duplicates) kills=\(kills.count)"
    }

    static func format(_ duration: Duration) -> String {
        String(format: "%.1f s", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }
}
