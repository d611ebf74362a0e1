import NIOCore

/// The graceful end of a listener's open connections, shared by the socket and HTTP ingest.
///
/// Each connection is asked to quiesce (answer what it has read, then close), the listener waits
/// until they have closed or the stop timeout has passed, and whatever is still open is closed.
/// One place, so both listeners keep the same promise at SIGTERM: every request read is
/// answered before the connection goes.
enum ConnectionDrain {
    static func quiesceAndClose(
        open: () -> [any Channel], openCount: () -> Int, timeout: TimeAmount
    ) async {
        for connection in open() {
            connection.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        let deadline = ContinuousClock.now + .nanoseconds(timeout.nanoseconds)
        while openCount() > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        for connection in open() {
            try? await connection.close()
        }
    }
}
