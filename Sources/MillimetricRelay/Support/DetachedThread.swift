#if canImport(Glibc)
import Glibc
#endif

/// A dedicated OS thread for blocking work (fsync, `curl_easy_perform`, waits on semaphores).
///
/// Why not Foundation's `Thread`: it lives in the full Foundation module, which pulls
/// FoundationInternationalization and ICU into the binary; the relay uses FoundationEssentials
/// only, so that the statically linked daemon stays small in memory (issue 11). This is what
/// `Thread.detachNewThread` does on Linux: a detached pthread with the default attributes.
public enum DetachedThread {
    /// Runs `body` on a new detached thread, named `name` (as `top -H` shows it) when given.
    ///
    /// Creating a thread fails only when the process is out of memory or threads; the relay
    /// cannot run without its threads, so that is a fatal error, as it is in Foundation.
    public static func start(name: String? = nil, _ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Body(name: name, run: body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            let body = Unmanaged<Body>.fromOpaque(argument!).takeRetainedValue()
            if let name = body.name { CurrentThread.setName(name) }
            body.run()
            return nil
        }, box)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(box).release()
            fatalError("pthread_create failed: \(String(cString: strerror(result)))")
        }
        pthread_detach(thread)
    }

    /// The closure and name handed to the new thread through pthread's `void *` argument.
    private final class Body {
        let name: String?
        let run: @Sendable () -> Void
        init(name: String?, run: @escaping @Sendable () -> Void) {
            self.name = name
            self.run = run
        }
    }
}
