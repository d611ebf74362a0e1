import Foundation
import MillimetricRelay
import RelayTestKit

/// One producer writing events to a relay's socket at a steady rate, as an app host would,
/// with a second thread reading the acks (so the socket never fills up).
///
/// Every 50 ms it writes the events due by then, so the rate holds however long a write takes;
/// ``stop()`` ends the writing and returns how many events were written and acked.
public final class PacedProducer: @unchecked Sendable {
    private let client: IngestClient
    private let generator: EventGenerator
    private let clientNumber: Int
    private let eventsPerSecond: Double
    private let lock = NSLock()
    // Guarded by `lock`.
    private var stopRequested = false
    private var written = 0
    private var acked = 0
    private var broken = false
    private let writerDone = DispatchSemaphore(value: 0)

    public init(socketPath: String, generator: EventGenerator, client: Int, eventsPerSecond: Double) throws(TestKitError) {
        do {
            self.client = try IngestClient(path: socketPath)
        } catch {
            throw TestKitError("producer \(client): \(error)")
        }
        self.generator = generator
        self.clientNumber = client
        self.eventsPerSecond = eventsPerSecond
    }

    /// Starts writing now.
    public func start() {
        let reader = Thread { [self] in
            client.readLines { line in
                if line.contains("\"ok\":true") {
                    lock.lock()
                    acked += 1
                    lock.unlock()
                }
            }
        }
        reader.start()
        let writer = Thread { [self] in
            let start = Monotonic.nanoseconds()
            var sent = 0
            while true {
                lock.lock()
                let stop = stopRequested
                lock.unlock()
                if stop { break }
                let due = Int(Monotonic.seconds(from: start, to: Monotonic.nanoseconds()) * eventsPerSecond)
                if due > sent {
                    let batch = generator.batch(client: clientNumber, sequence: sent..<due)
                    if !client.write(batch.bytes) {
                        lock.lock()
                        broken = true
                        lock.unlock()
                        break
                    }
                    sent = due
                    lock.lock()
                    written = sent
                    lock.unlock()
                }
                Monotonic.sleep(seconds: 0.05)
            }
            writerDone.signal()
        }
        writer.start()
    }

    /// Events written so far.
    public var writtenCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return written
    }

    /// Stops writing; waits up to `ackTimeout` seconds for the acks of what was written.
    public func stop(ackTimeout: Double = 30) throws(TestKitError) -> (written: Int, acked: Int) {
        lock.lock()
        stopRequested = true
        lock.unlock()
        writerDone.wait()
        let deadline = Monotonic.nanoseconds() + UInt64(ackTimeout * 1e9)
        while true {
            lock.lock()
            let result = (written, acked, broken)
            lock.unlock()
            if result.2 { throw TestKitError("producer \(clientNumber): the connection broke") }
            if result.1 >= result.0 || Monotonic.nanoseconds() >= deadline {
                client.finishWriting()
                return (result.0, result.1)
            }
            Monotonic.sleep(seconds: 0.02)
        }
    }
}
