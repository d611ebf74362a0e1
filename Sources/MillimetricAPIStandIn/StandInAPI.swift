import Foundation
import Logging
import NIOCore
import Synchronization

/// The stand-in's behaviour: the Millimetric API's endpoints plus the admin endpoints, independent
/// of HTTP plumbing.
///
/// Handlers on every event loop call into one instance. All state sits in a single `Mutex`, held
/// only for bookkeeping; parsing and validation (the expensive part) run outside it, so two
/// connections on two loops proceed in parallel.
final class StandInAPI: Sendable {
    let configuration: StandInConfiguration
    let keyPolicy: APIKeyPolicy
    let logger: Logger
    let state: Mutex<StandInState>

    init(configuration: StandInConfiguration, logger: Logger) {
        self.configuration = configuration
        self.keyPolicy = APIKeyPolicy(knownKeys: configuration.knownKeys)
        self.logger = logger
        self.state = Mutex(StandInState(configuration: configuration, generation: 1, now: .now()))
    }

    /// The largest request body accepted before answering 413.
    var maxBodyBytes: Int { self.configuration.maxBodyBytes }

    /// Decides what to answer to a complete request.
    func handle(_ request: APIRequest) -> RequestOutcome {
        if request.path.hasPrefix("/_admin/") {
            return .answer(self.handleAdmin(request), delay: .zero, ticket: nil)
        }
        if Self.isAPIPath(request.path) {
            return self.handleAPI(request)
        }
        return .answer(.error(.notFound), delay: .zero, ticket: nil)
    }

    /// The answer to a request whose body is over the limit, decided while it is still arriving.
    /// API requests are logged (status 413, without event ids: the body was not kept).
    func rejectOversized(path: String, receivedMilliseconds: Int64) -> (APIResponse, LogTicket?) {
        var response = APIResponse.error(.payloadTooLarge)
        response.closesConnection = true
        guard Self.isAPIPath(path) else { return (response, nil) }
        let ticket = self.state.withLock { state in
            state.stats.countArrival(path: path)
            let sequence = state.log.begin(
                path: path,
                receivedMilliseconds: receivedMilliseconds,
                eventIDs: [],
                userIDs: []
            )
            return LogTicket(generation: state.generation, sequence: sequence)
        }
        return (response, ticket)
    }

    /// Records that the request behind `ticket` was answered with `status` (0: dropped) now.
    func finish(_ ticket: LogTicket?, status: Int) {
        guard let ticket else { return }
        let now = WallClock.nowMilliseconds()
        self.state.withLock { state in
            guard state.generation == ticket.generation else { return }
            state.log.finish(sequence: ticket.sequence, status: status, sentMilliseconds: now)
            state.stats.countAnswer(status: status)
        }
    }

    /// Whether a path is under the API (and so subject to faults and logged).
    static func isAPIPath(_ path: String) -> Bool {
        path == "/v1" || path.hasPrefix("/v1/")
    }
}
