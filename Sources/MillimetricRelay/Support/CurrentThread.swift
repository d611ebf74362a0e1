#if canImport(Glibc)
import Glibc
#endif

/// Attributes of the calling thread that the kernel sees: its name and its CPU priority.
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

    /// Raises the thread's nice value by `amount` over the process's (Linux keeps nice values
    /// per thread; `setpriority` with who 0 changes the calling thread only). Lowering a
    /// priority needs no privilege; past 19 it stays at 19. Failing is harmless.
    static func lowerPriority(by amount: Int32) {
        errno = 0
        let current = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        guard errno == 0 else { return }
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, min(current + amount, 19))
    }
}
