import CCurl
import Synchronization

/// A thread-safe switch that cuts a `CurlHTTPClient`'s transfers short, for shutdown.
///
/// `CurlHTTPClient` is not `Sendable`: it belongs to the one thread that runs its blocking
/// transfers. The shutdown path lives elsewhere, so it gets this small `Sendable` handle
/// instead. `abort()` sets an atomic flag and wakes the client's `curl_multi_poll`, so a
/// transfer that is waiting on the network ends within milliseconds; the client's
/// `XFERINFOFUNCTION` also returns non-zero from then on, which makes libcurl end a transfer
/// that is busy with `CURLE_ABORTED_BY_CALLBACK`. Either way `post` throws a `CurlError` of
/// kind `.aborted`.
///
/// Abort is sticky on purpose: a shutdown that lands between two requests must not be lost, so
/// every later `post` fails at once too.
public final class CurlAbortHandle: Sendable {
    private let flag = Atomic<Bool>(false)
    /// The client's multi handle while the client is open; nil before and after.
    private let wakeTarget = Mutex<MultiHandlePointer?>(nil)

    /// Creates a handle that has not been aborted.
    public init() {}

    /// Ends the running transfer (if any) and every later one. Safe from any thread.
    public func abort() {
        flag.store(true, ordering: .releasing)
        wakeTarget.withLock { target in
            if let target {
                _ = curl_multi_wakeup(target.pointer)
            }
        }
    }

    /// Whether `abort()` has been called.
    public var isAborted: Bool {
        flag.load(ordering: .acquiring)
    }

    /// Lets `abort()` wake `multi`. Called by the client once it made its multi handle.
    func attach(_ multi: UnsafeMutableRawPointer) {
        let target = MultiHandlePointer(pointer: multi)
        wakeTarget.withLock { $0 = target }
    }

    /// Stops `abort()` from touching the multi handle. Called by the client before
    /// `curl_multi_cleanup`; waits for a wakeup that is under way to finish.
    func detach() {
        wakeTarget.withLock { $0 = nil }
    }
}

/// A `CURLM *` that may cross threads, for `curl_multi_wakeup` only.
///
/// `@unchecked Sendable` is safe because: libcurl documents `curl_multi_wakeup` as callable
/// from any thread while another thread runs `curl_multi_poll`/`curl_multi_perform` on the same
/// handle, and `CurlAbortHandle` uses the pointer for nothing else; it does so only while holding
/// its lock, and the client detaches it (taking the same lock) before it frees the handle, so the
/// pointer is never used after `curl_multi_cleanup`.
struct MultiHandlePointer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
}
