import FoundationEssentials
import Glibc

/// A mutex with a condition variable, for the threads that block (the drainer's inbox).
///
/// Why not Foundation's `NSCondition`: it lives in the full Foundation module, which pulls ICU
/// into the statically linked binary (issue 11). Same methods, same meaning: `wait()` and
/// `wait(until:)` must be called with the lock held, and may wake spuriously, so callers
/// re-check their predicate in a loop.
public final class ThreadCondition: @unchecked Sendable {
    // @unchecked: the pthread objects are only touched through pthread calls, which are
    // thread-safe by definition; they live in their own allocations so that they never move.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }

    public func unlock() { pthread_mutex_unlock(mutex) }

    /// Releases the lock until signalled, then holds it again.
    public func wait() { pthread_cond_wait(condition, mutex) }

    /// As `wait()`, but gives up at `deadline` (wall clock, as `NSCondition`); false on timeout.
    @discardableResult
    public func wait(until deadline: Date) -> Bool {
        let seconds = deadline.timeIntervalSince1970
        let whole = seconds.rounded(.down)
        var time = timespec(tv_sec: Int(whole), tv_nsec: Int((seconds - whole) * 1_000_000_000))
        return pthread_cond_timedwait(condition, mutex, &time) == 0
    }

    /// Wakes one waiting thread.
    public func signal() { pthread_cond_signal(condition) }

    /// Wakes every waiting thread.
    public func broadcast() { pthread_cond_broadcast(condition) }

    /// Runs `body` with the lock held.
    public func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
