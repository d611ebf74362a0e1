import CurlSupport
import Dispatch
import FoundationEssentials
import Glibc
import Logging
import Synchronization

/// Threads that send requests to the API, one libcurl client each.
///
/// `curl_easy_perform`-style calls block, so they run on threads of their own (STYLE §3), as
/// many as `max_in_flight`, each keeping its connection alive between requests. That many
/// requests in flight is what lets a 300 ms round trip still reach the API's rate limit.
final class UpstreamWorkerPool: Sendable {
    struct Job: Sendable {
        var id: UInt64
        var path: String
        var body: [UInt8]
    }

    enum Outcome: Sendable {
        case response(HTTPResponse)
        case failure(CurlError)
    }

    private struct Queue: ~Copyable {
        var jobs: [Job] = []
        var stopping = false
    }

    private let queue = Mutex(Queue())
    private let available = DispatchSemaphore(value: 0)
    private let abortHandles = Mutex<[CurlAbortHandle]>([])
    private let key: Mutex<APIKey>
    private let baseURL: String
    private let exited = DispatchSemaphore(value: 0)
    private let workerCount: Int

    /// Starts `count` worker threads; `completion` runs on a worker thread after each request.
    init(
        count: Int, baseURL: String, key: APIKey, clientConfiguration: CurlHTTPClient.Configuration, logger: Logger,
        completion: @escaping @Sendable (UInt64, Outcome) -> Void
    ) throws(CurlError) {
        self.key = Mutex(key)
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.workerCount = count
        var clients: [CurlHTTPClient] = []
        for _ in 0..<count {
            clients.append(try CurlHTTPClient(configuration: clientConfiguration))
        }
        abortHandles.withLock { $0 = clients.map(\.abortHandle) }
        for (index, client) in clients.enumerated() {
            // Each client moves to its own thread and is used by that thread only.
            let transfer = UnsafeTransfer(client)
            DetachedThread.start(name: "upstream-\(index)") { [self] in
                self.work(client: transfer.value, completion: completion)
                transfer.value.close()
                self.exited.signal()
            }
        }
        _ = logger
    }

    /// Uses a new key from the next request on (SIGHUP).
    func setKey(_ newKey: APIKey) {
        key.withLock { $0 = newKey }
    }

    func submit(_ job: Job) {
        queue.withLock { $0.jobs.append(job) }
        available.signal()
    }

    /// Cuts every running transfer short; they complete with an `.aborted` error.
    func abortAll() {
        for handle in abortHandles.withLock({ $0 }) { handle.abort() }
    }

    /// Stops the threads once their current request is done; waits for them.
    func shutdown() {
        queue.withLock { $0.stopping = true }
        for _ in 0..<workerCount { available.signal() }
        for _ in 0..<workerCount { exited.wait() }
    }

    private func work(client: CurlHTTPClient, completion: @Sendable (UInt64, Outcome) -> Void) {
        while true {
            available.wait()
            let next = queue.withLock { queue -> (Job?, Bool) in
                if queue.stopping { return (nil, true) }
                return (queue.jobs.isEmpty ? nil : queue.jobs.removeFirst(), false)
            }
            if next.1 { return }
            guard let job = next.0 else { continue }
            let headers = [key.withLock { $0.authorizationHeader }, "Content-Type: application/json"]
            do {
                let response = try client.post(url: baseURL + job.path, headers: headers, body: job.body)
                completion(job.id, .response(response))
            } catch {
                completion(job.id, .failure(error))
            }
        }
    }
}
