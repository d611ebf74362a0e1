#if canImport(Glibc)
import Glibc
#endif

/// Attributes of the calling thread that the kernel sees.
enum CurrentThread {
    /// Names the thread as `top -H`, `perf` and `/proc/PID/task/*/comm` show it.
    ///
    /// Foundation's `Thread.name` does not reach the kernel on Linux, and an operator looking at
    /// a busy relay should see `outbox-writer` or `drainer`, not a queue label. Glibc's
    /// `pthread_setname_np` is not visible to Swift, so this writes the thread's `comm` file,
    /// which is what that function does too. Linux keeps 15 bytes; failing is harmless.
    static func setName(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}
