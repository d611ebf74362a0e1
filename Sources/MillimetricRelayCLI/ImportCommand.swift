import ArgumentParser
import Dispatch
import FoundationEssentials
import Glibc
import MillimetricRelay

/// `import`: ships files of past events through the running daemon into the outbox's backfill
/// lane (issue 16), resumably, with deterministic ids for events without one.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Backfill: send NDJSON files of past events through the relay, behind live events.",
        discussion: """
            Reads each FILE (NDJSON; .gz and .zst are decompressed with gzip/zstd; - is stdin) and \
            sends its lines over the relay's socket, pipelined, into the outbox's backfill lane: \
            the relay delivers live events first and backfill with the rest of the key's rate. A \
            track event without event_id gets a deterministic one (a UUID v5 of the content read \
            through its line and the line number), so a re-run sends nothing the API counts twice. \
            Progress is kept in FILE.import-progress: run the same command again after an \
            interruption and it continues after the last acknowledged line. Refused lines go to \
            FILE.rejects.ndjson with their line number and the relay's error. Exits 0 when every \
            line was stored, 1 when some were refused, 69 when the relay cannot be reached or went \
            away (run it again to resume).
            """)

    @Option(help: "The Unix socket of the relay (default: from the configuration).")
    var socket: String?

    @Option(help: "The config file to read socket_path from.")
    var config: String?

    @Option(help: "Write refused lines here instead of FILE.rejects.ndjson (all inputs).")
    var rejects: String?

    @Option(help: "The progress file (default: FILE.import-progress; stdin has none unless given). Only with a single input.")
    var progress: String?

    @Option(help: "Lines sent ahead of their acks.")
    var window: Int = 16_384

    @Flag(help: "Ignore any progress file and start from the first line.")
    var restart = false

    @Argument(help: "NDJSON files; .gz and .zst are read transparently; - reads stdin.")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one FILE (or - for stdin)") }
        if progress != nil && files.count > 1 { throw ValidationError("--progress takes a single input; each file keeps its own FILE.import-progress otherwise") }
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("stdin (-) can be read once") }
        if window < 1 { throw ValidationError("--window must be at least 1") }
    }

    func run() throws {
        // A decompressor that dies must not take the importer with it (its stdin pipe).
        signal(SIGPIPE, SIG_IGN)
        let path = try producerSocketPath(socket: socket, configFile: config)
        var anyRefused = false
        for file in files {
            let session = ImportSession(settings: .init(
                input: file, socketPath: path, rejectsPath: rejects ?? (file == "-" ? "stdin.rejects.ndjson" : file + ".rejects.ndjson"),
                progressPath: progress ?? ImportProgressFile.defaultPath(for: file), window: window, restart: restart))
            switch session.run() {
            case .done(let refused): anyRefused = anyRefused || refused > 0
            case .unavailable: throw ExitCode(RelayExitCode.unavailable.rawValue)
            case .failed: throw ExitCode(RelayExitCode.usage.rawValue)
            }
        }
        if anyRefused { throw ExitCode(RelayExitCode.someLinesRejected.rawValue) }
    }
}
