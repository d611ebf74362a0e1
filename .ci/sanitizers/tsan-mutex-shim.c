// ThreadSanitizer and Swift's `Synchronization.Mutex` on Linux: make TSan see the lock.
//
// Why: `Mutex.withLock` inlines its fast path (an atomic compare-exchange, which TSan models),
// but when the lock is contended it calls `_MutexHandle._lockSlow` / `_unlockSlow` in
// libswiftSynchronization.so, which is not instrumented: a futex wait and a compare-exchange
// TSan never sees. Every access made under a contended Mutex is then reported as a race
// ("Swift access race" / "data race" inside a `withLock` closure): with 4 threads appending to a
// `Mutex<[Int]>`, 5 reports per run, all false. Seen with Swift 6.3.1 on Debian 12.
//
// What: this library, preloaded (LD_PRELOAD) into the instrumented test runner and daemon,
// interposes those two functions, calls the real ones (dlsym RTLD_NEXT), and tells TSan about
// the edge: `__tsan_acquire(lock)` after the slow lock, `__tsan_release(lock)` before the slow
// unlock, on the lock word's address, the same address the inlined fast path's atomics use.
// A race that is real (an access outside any lock) is still reported.
//
// How they are called: Swift's calling convention, the `_MutexHandle` (whose first word is the
// lock) passed as `self` in the context register (clang: `swiftcall` + `swift_context`), the
// owner's thread id as the one argument of `_lockSlow`. The TSan entry points are weak, so a
// process without TSan (swift-build, /bin/sh) that inherits LD_PRELOAD is unaffected.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>

__attribute__((weak)) void __tsan_acquire(void *address);
__attribute__((weak)) void __tsan_release(void *address);

#define LOCK_SLOW "$s15Synchronization12_MutexHandleV9_lockSlowyys6UInt32VF"
#define UNLOCK_SLOW "$s15Synchronization12_MutexHandleV11_unlockSlowyyF"

typedef __attribute__((swiftcall)) void (*LockSlow)(uint32_t owner, void *__attribute__((swift_context)) handle);
typedef __attribute__((swiftcall)) void (*UnlockSlow)(void *__attribute__((swift_context)) handle);

__attribute__((swiftcall)) void mutexLockSlow(uint32_t owner, void *__attribute__((swift_context)) handle) __asm__(LOCK_SLOW);
__attribute__((swiftcall)) void mutexUnlockSlow(void *__attribute__((swift_context)) handle) __asm__(UNLOCK_SLOW);

__attribute__((swiftcall)) void mutexLockSlow(uint32_t owner, void *__attribute__((swift_context)) handle) {
    static LockSlow real;
    if (!real) real = (LockSlow)dlsym(RTLD_NEXT, LOCK_SLOW);
    real(owner, handle);
    if (__tsan_acquire) __tsan_acquire(handle);
}

__attribute__((swiftcall)) void mutexUnlockSlow(void *__attribute__((swift_context)) handle) {
    static UnlockSlow real;
    if (!real) real = (UnlockSlow)dlsym(RTLD_NEXT, UNLOCK_SLOW);
    if (__tsan_release) __tsan_release(handle);
    real(handle);
}
