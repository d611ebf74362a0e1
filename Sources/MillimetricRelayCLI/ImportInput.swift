import Dispatch
import Glibc
import MillimetricRelay
import Synchronization

/// The bytes of one `import` argument: a plain file, stdin (`-`), or a `.gz`/`.zst` file
/// decompressed by a `gzip -dc`/`zstd -dc` child process. The raw file is fed to the child by a
/// thread of ours, so that `consumedBytes` counts the file's own bytes and the progress bar's
/// ETA works for compressed files too.
final class ImportInput: @unchecked Sendable {
    // @unchecked Sendable: `child` is used by the thread that made the input only; the feeder
    // thread touches `consumed` (atomic), `feederDone` and the two descriptors it alone reads
    // and writes until it signals `feederDone`.
    enum Failure: Error, CustomStringConvertible {
        case cannotOpen(String, String)
        case cannotDecompress(String, String)
        var description: String {
            switch self {
            case .cannotOpen(let path, let reason): "cannot open \(path): \(reason)"
            case .cannotDecompress(let path, let reason): "cannot decompress \(path): \(reason)"
            }
        }
    }

    /// What the user named it.
    let name: String
    /// The file's size, if it is a regular file.
    let totalBytes: Int64?
    private let readDescriptor: Int32
    private let fileDescriptor: Int32
    private var child: pid_t?
    private let consumed = Atomic<Int64>(0)
    private let feederDone = DispatchSemaphore(value: 0)

    /// Bytes of the file (compressed, if it is) read so far.
    var consumedBytes: Int64 { consumed.load(ordering: .relaxed) }

    init(path: String) throws(Failure) {
        name = path
        if path == "-" {
            fileDescriptor = STDIN_FILENO
            readDescriptor = STDIN_FILENO
            totalBytes = nil
            return
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(path, String(cString: strerror(errno))) }
        var info = stat()
        totalBytes = fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG ? Int64(info.st_size) : nil
        fileDescriptor = fd
        let decompressor: String? = path.hasSuffix(".gz") ? "gzip" : path.hasSuffix(".zst") ? "zstd" : nil
        guard let decompressor else {
            readDescriptor = fd
            return
        }
        var toChild: [Int32] = [0, 0]
        var fromChild: [Int32] = [0, 0]
        guard pipe(&toChild) == 0, pipe(&fromChild) == 0 else {
            close(fd)
            throw .cannotDecompress(path, String(cString: strerror(errno)))
        }
        // Close-on-exec: the child gets only the two ends dup2 puts on its stdin and stdout.
        for descriptor in toChild + fromChild { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], STDIN_FILENO)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], STDOUT_FILENO)
        var pid: pid_t = 0
        let arguments = [decompressor, "-dc"]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let result = posix_spawnp(&pid, decompressor, &actions, nil, &argv, environ)
        close(toChild[0])
        close(fromChild[1])
        guard result == 0 else {
            close(toChild[1])
            close(fromChild[0])
            close(fd)
            throw .cannotDecompress(path, "cannot start \(decompressor): \(String(cString: strerror(result))); install it (apt-get install \(decompressor))")
        }
        child = pid
        readDescriptor = fromChild[0]
        let sink = toChild[1]
        // The feeder: the file into the child's stdin, counting bytes.
        DetachedThread.start(name: "import-feeder") { [self] in
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            outer: while true {
                let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                var offset = 0
                while offset < count {
                    let written = chunk.withUnsafeBytes { write(sink, $0.baseAddress! + offset, count - offset) }
                    if written < 0 && errno == EINTR { continue }
                    if written <= 0 { break outer }
                    offset += written
                }
                self.consumed.add(Int64(count), ordering: .relaxed)
            }
            close(sink)
            self.feederDone.signal()
        }
    }

    /// Reads up to `buffer.count` bytes of content; 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        while true {
            let count = Glibc.read(readDescriptor, buffer.baseAddress, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count > 0 && child == nil { consumed.add(Int64(count), ordering: .relaxed) }
            return max(count, 0)
        }
    }

    /// Closes everything; for a compressed file, the decompressor's verdict (nil when it
    /// succeeded).
    func finish() -> String? {
        guard let pid = child else {
            if fileDescriptor != STDIN_FILENO { close(fileDescriptor) }
            return nil
        }
        close(readDescriptor)
        feederDone.wait()
        close(fileDescriptor)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        child = nil
        let exited = status & 0x7F == 0
        let code = (status >> 8) & 0xFF
        if exited && code == 0 { return nil }
        return exited ? "the decompressor exited with status \(code) (damaged or truncated file?)" : "the decompressor was killed by signal \(status & 0x7F)"
    }
}
