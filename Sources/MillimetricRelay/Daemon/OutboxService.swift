import ServiceLifecycle

/// Keeps the outbox open while the daemon runs, and closes it last: the service group stops
/// services in reverse order, so by the time this one stops, ingest has acked or refused every
/// line it read and the drainer has settled what it could.
struct OutboxService: Service {
    let writer: OutboxWriter

    func run() async throws {
        try? await gracefulShutdown()
        writer.close()
    }
}
