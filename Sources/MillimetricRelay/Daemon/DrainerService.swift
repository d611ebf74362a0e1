import CurlSupport
import ServiceLifecycle

/// Runs the ``Drainer`` inside the service group. On graceful shutdown it stops dispatching and
/// waits for in-flight requests (bounded by `stop_timeout`) before the outbox closes.
struct DrainerService: Service {
    let drainer: Drainer

    func run() async throws {
        try? await gracefulShutdown()
        // stop() blocks until the drainer thread is done; keep it off the cooperative pool.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let drainer = self.drainer
            DetachedThread.start {
                drainer.stop()
                continuation.resume()
            }
        }
    }
}

import FoundationEssentials
