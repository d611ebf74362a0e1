import ArgumentParser
import Foundation
import RelayTestKit

/// `chaos`: the relay loses nothing acknowledged under SIGKILL and a flapping upstream.
@main
struct ChaosCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos",
        abstract: "Stream events into a real millimetric-relay while killing it with SIGKILL and flapping the API; check that every acked event arrived.",
        discussion: """
            Several producers stream their own event_ids through IngestClient, resending only
            what was not acked (after a broken connection: a short delay, reconnect, resend).
            Meanwhile the relay is killed with SIGKILL at random moments (during ingest, group
            commits and delivery) and restarted on the same state directory, and the API
            stand-in flaps: down (503), dropped connections, 429 with Retry-After, 5xx, latency.
            Then production stops, the upstream heals, every unacked line is finished, and the
            run waits until delivered. Every acked event_id must have arrived at the API;
            duplicates (the same event_id twice, when an answer or an ack was lost) are counted.

            The last line is `chaos: acked=N delivered=N lost=L duplicates=D kills=K`; the exit
            status is 1 when anything was lost or another check failed, 2 when the run could not
            be carried out. The binaries default to those next to this executable (build them with
            `swift build --package-path Chaos --product millimetric-relay`, see Chaos/run.sh).
            """)

    // The command's own parameters. `duplicates` pairs runs of `@Option` + `var x = number` here
    // with fleet-bench's and http-bench's by shape: they are declarations of different options, with nothing to share
    // (what is shared, the binaries, seed, work directory and synchronous mode, is an @OptionGroup).
    @Option(help: "Seconds of chaos (production, kills, faults). CI's short form: 40; the long form: 600.")
    var duration = 40

    @Option(help: "Producer threads, one connection each at a time.")
    var producers = 4

    @Option(help: "Events per second per producer.")
    var rate = 250.0

    @Option(help: "Shortest gap between two kills, in seconds.")
    var killMin = 1.0

    @Option(help: "Longest gap between two kills, in seconds.")
    var killMax = 4.0

    @Option(help: "Seconds to wait for delivery once the chaos is over.")
    var drainTimeout = 180

    /// `--seed` replays the schedule of kills and faults; `--work-dir` holds the socket, state
    /// and logs (default: a new one in /tmp, removed after a successful run).
    @OptionGroup var evidence: EvidenceRunOptions

    /// Default: next to this executable, or $MILLIMETRIC_RELAY and $MILLIMETRIC_API_STANDIN.
    @OptionGroup var binaries: RelayBinaryOptions

    func validate() throws {
        guard duration > 0, producers > 0, rate > 0 else { throw ValidationError("--duration, --producers and --rate must be positive") }
        guard killMin > 0.2, killMax >= killMin else { throw ValidationError("need 0.2 < --kill-min <= --kill-max") }
    }

    func run() throws {
        // SIGKILL: the relay's state is throwaway here.
        ChildRegistry.installSignalHandlers(name: "chaos", kill: true)
        let here = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let relayPath = binaries.relay ?? ProcessInfo.processInfo.environment["MILLIMETRIC_RELAY"] ?? here.appendingPathComponent("millimetric-relay").path
        let standInPath = binaries.standin ?? ProcessInfo.processInfo.environment["MILLIMETRIC_API_STANDIN"] ?? here.appendingPathComponent("millimetric-api-standin").path
        for path in [relayPath, standInPath] where !FileManager.default.isExecutableFile(atPath: path) {
            say("chaos: no executable at \(path); build it (Chaos/run.sh does) or pass --relay/--standin")
            throw ExitCode(2)
        }
        let directory: String
        let madeDirectory = evidence.workDir == nil
        if let workDir = evidence.workDir {
            try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
            directory = workDir
        } else {
            directory = try TemporaryDirectory(prefix: "mmr-chaos").path
        }
        let settings = ChaosSettings(
            duration: .seconds(duration), producers: producers, ratePerProducer: rate, killGap: killMin...killMax,
            faultHold: 0.5...2.5, seed: evidence.resolvedSeed(), drainTimeout: .seconds(drainTimeout),
            relayExecutable: relayPath, standInExecutable: standInPath, workDirectory: directory)
        say("chaos: relay \(relayPath)")
        let passed: Bool
        do {
            passed = try ChaosRun(settings: settings).run()
        } catch {
            say("chaos: could not run: \(error) (logs in \(directory))")
            throw ExitCode(2)
        }
        if passed && madeDirectory {
            try? FileManager.default.removeItem(atPath: directory)
        }
        if !passed {
            say("chaos: logs kept in \(directory)")
            throw ExitCode(1)
        }
    }
}
