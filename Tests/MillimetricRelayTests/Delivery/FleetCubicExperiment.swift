import Foundation
import MillimetricRelay
import RelayTestKit
import Testing

/// Round 9 of #12: the CUBIC-like variants of ``SendRateController`` against the shipped one,
/// run by hand (`FLEET9_EXPERIMENT=storm|small|lone|long FLEET9_VARIANTS=shipped,cubic,…
/// swift test --skip-build --filter FleetCubicExperiment`); figures in
/// docs/experiments/fleet-key-sharing.md.
@Suite struct FleetCubicExperiment {
    static let mode = ProcessInfoShim.environment("FLEET9_EXPERIMENT") ?? ""
    static let variants: [(String, @Sendable (inout SendRateController) -> Void)] = {
        let name = ProcessInfoShim.environment("FLEET9_VARIANTS") ?? "shipped,cubic"
        var all: [String: @Sendable (inout SendRateController) -> Void] = [
            "shipped": { _ in },
            "cubic": { $0.growth = .cubic },
            "cubic-b05": { $0.growth = .cubic; $0.cubicBeta = 0.5; $0.cubicC = 5 * 0.5 / 27 },
            "cubic-slow": { $0.growth = .cubic; $0.cubicC = 0.056 / 64 },
            "adaptC": { $0.growth = .cubic; $0.cubicCAdapts = true },
            "adaptC10": { $0.growth = .cubic; $0.cubicCAdapts = true; $0.cubicCleanSuccesses = 10 },
            "adaptC40": { $0.growth = .cubic; $0.cubicCAdapts = true; $0.cubicCleanSuccesses = 40 },
            "adaptC16": { $0.growth = .cubic; $0.cubicCAdapts = true; $0.cubicCDivisor = 16 },
            "adaptC64": { $0.growth = .cubic; $0.cubicCAdapts = true; $0.cubicCDivisor = 64; $0.cubicCleanSuccesses = 10 },
            "adaptC64deep": { $0.growth = .cubic; $0.cubicCAdapts = true; $0.cubicCDivisor = 64; $0.cubicCleanSuccesses = 10; $0.cubicDeepestCut = 0.25 },
            "adaptC16deep": { $0.growth = .cubic; $0.cubicCAdapts = true; $0.cubicCDivisor = 16; $0.cubicDeepestCut = 0.25 },
            "cubic-noFC": { $0.growth = .cubic; $0.cubicFastConvergence = false },
        ]
        for c in ["0.01", "0.001", "0.0001", "0.00001"] { all["cubic-C\(c)"] = { $0.growth = .cubic; $0.cubicC = Double(c)! } }
        return name.split(separator: ",").map { (String($0), all[String($0)]!) }
    }()

    @Test(.enabled(if: mode == "storm")) func storm() {
        for (name, tune) in Self.variants {
            for load in [0.96, 1.50] {
                var lines: [String] = []
                var shares: [Double] = []
                var delivered: [Double] = []
                for seed in UInt64(0)..<8 {
                    let r = FleetSimulation(relays: 64, offeredShare: load, warmUp: .seconds(60), measured: .seconds(60), seed: seed, tune: tune).run()
                    shares.append(r.rateLimitedShare); delivered.append(r.deliveredPerSecond)
                    lines.append("  seed \(seed): \(r.summary)")
                }
                print("STORM \(name) 64x\(load): 429 \(f(shares.min()!))–\(f(shares.max()!)) % mean \(f(shares.reduce(0,+)/8)) %, delivered/s \(Int(delivered.min()!))–\(Int(delivered.max()!))")
                for l in lines { print(l) }
            }
        }
    }

    /// `.ci/fleet.sh`'s case in the simulation: 4 relays, 429s from 60 s to 120 s.
    @Test(.enabled(if: mode == "small")) func small() {
        for (name, tune) in Self.variants {
            for load in [1.28, 1.50] {
                let runs = (UInt64(0)..<8).map { FleetSimulation(relays: 4, offeredShare: load, warmUp: .seconds(60), measured: .seconds(60), seed: $0, tune: tune).run() }
                let shares = runs.map(\.rateLimitedShare)
                print("SMALL \(name) 4x\(load): 429 \(f(shares.min()!))–\(f(shares.max()!)) %, delivered/s \(Int(runs.map(\.deliveredPerSecond).min()!))–\(Int(runs.map(\.deliveredPerSecond).max()!)), mean batch ≥ \(Int(runs.map(\.meanBatch).min()!))")
            }
        }
    }

    @Test(.enabled(if: mode == "lone")) func lone() {
        for (name, tune) in Self.variants {
            let cases: [(String, FleetSimulation)] = [
                ("drains4000", FleetSimulation(relays: 1, offeredShare: 0.8, warmUp: .seconds(30), measured: .seconds(60), forcedRateLimited: 20, forcedFrom: .milliseconds(1_500), totalEvents: 4_000, tune: tune)),
                ("streak0", FleetSimulation(relays: 1, offeredShare: 1.5, warmUp: .seconds(60), measured: .seconds(60), forcedRateLimited: 20, forcedFrom: .seconds(0), tune: tune)),
                ("streak30", FleetSimulation(relays: 1, offeredShare: 1.5, warmUp: .seconds(60), measured: .seconds(60), forcedRateLimited: 20, forcedFrom: .seconds(30), tune: tune)),
                ("bisect", FleetSimulation(relays: 1, offeredShare: 1.5, warmUp: .seconds(60), measured: .seconds(60), forcedRateLimited: 10, forcedFrom: .zero, refusedAfterForced: 9, tune: tune)),
            ]
            for (label, sim) in cases {
                let r = sim.run()
                let end = Int((r.lastForcedAnswerAt ?? .seconds(1_000)).components.seconds) + 1
                let w = r.deliveredBySecond.dropFirst(end + 20).prefix(10)
                let by30 = r.deliveredBySecond.prefix(end + 30).reduce(0, +)
                print("LONE \(name) \(label): streak over \(end) s, by +30 s \(by30), mean +20..30 s \(w.reduce(0,+)/max(w.count,1))/s; \(Array(r.deliveredBySecond.prefix(end + 40)))")
            }
        }
    }

    @Test(.enabled(if: mode == "long")) func long() {
        let sizes = (ProcessInfoShim.environment("FLEET9_SIZES") ?? "1,4,16,64").split(separator: ",").map { Int($0)! }
        for (name, tune) in Self.variants {
            for relays in sizes {
                for load in [0.10, 0.50, 0.96, 1.28, 1.50] {
                    let r = FleetSimulation(relays: relays, offeredShare: load, tune: tune).run()
                    let offered = load * 2_500
                    let ok = r.rateLimitedShare <= 0.05 && r.deliveredPerSecond >= 0.95 * min(offered, 2_500) && (load < 0.96 || r.meanBatch >= 450) && (relays > 1 || r.rateLimited == 0)
                    print("LONG \(name) \(relays)x\(load) \(ok ? "ok" : "FAIL"): \(r.summary)")
                }
            }
        }
    }

    private func f(_ x: Double) -> String { String(Double(Int(x * 1000)) / 10) }
}

enum ProcessInfoShim {
    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }
}
