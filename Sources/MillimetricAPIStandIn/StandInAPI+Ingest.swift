import Foundation
import NIOCore

extension StandInAPI {
    /// What is decided under the lock before any validation: either the answer (a fault, 404,
    /// 401/403 or 429), or admission with the fault settings that still matter.
    private enum Admission {
        case decided(RequestOutcome)
        case admitted(APIRoute, LogTicket, delay: TimeAmount, marker: String?)
    }

    /// Answers a request under `/v1/`.
    ///
    /// The order of checks: faults first (`drop_connections`, then `down`, then `force_status`;
    /// `latency_ms` delays whatever is answered), then unknown path 404, method 405, key
    /// 401/403, rate limit 429, and last the body (400). A request takes effect when it arrives;
    /// `latency_ms` delays only its answer, so a client that gives up waiting has still been
    /// served, exactly the "answer was lost" case that makes retries send duplicates.
    func handleAPI(_ request: APIRequest) -> RequestOutcome {
        let route = APIRoute(rawValue: request.path)
        let body: Any? =
            request.body.isEmpty
            ? nil : try? JSONSerialization.jsonObject(with: Data(request.body), options: [.fragmentsAllowed])
        let (eventIDs, userIDs) = Self.identifiers(route: route, body: body)
        let keyError = route.flatMap { self.keyPolicy.check(request.headers, route: $0) }
        let now = NIODeadline.now()

        let admission: Admission = self.state.withLock { state in
            state.stats.countArrival(path: request.path)
            let sequence = state.log.begin(
                path: request.path,
                receivedMilliseconds: request.receivedMilliseconds,
                eventIDs: eventIDs,
                userIDs: userIDs
            )
            let ticket = LogTicket(generation: state.generation, sequence: sequence)
            if state.faults.dropConnections {
                return .decided(.drop(ticket: ticket))
            }
            let delay = TimeAmount.milliseconds(Int64(state.faults.latencyMilliseconds))
            func answer(_ error: APIError, headers: [(String, String)] = []) -> Admission {
                .decided(.answer(.error(error, extraHeaders: headers), delay: delay, ticket: ticket))
            }
            if state.faults.down {
                return answer(.unavailable)
            }
            let retryAfter = state.faults.retryAfter
            if let forced = state.faults.takeForcedStatus() {
                return answer(.forced(status: forced), headers: retryAfter.map { [("Retry-After", $0)] } ?? [])
            }
            guard let route else { return answer(.notFound) }
            guard request.method == .POST else { return answer(.methodNotAllowed) }
            if let keyError { return answer(keyError) }
            if state.faults.rateLimits {
                let wait =
                    route.usesBatchBucket ? state.batchBucket.take(now: now) : state.trackBucket.take(now: now)
                if let wait {
                    return answer(.rateLimited, headers: [("Retry-After", String(wait))])
                }
            }
            return .admitted(route, ticket, delay: delay, marker: state.faults.rejectEventMarker)
        }

        switch admission {
        case .decided(let outcome):
            return outcome
        case .admitted(let route, let ticket, let delay, let marker):
            let validator = PayloadValidator(rejectMarker: marker.map { Array($0.utf8) })
            let response: APIResponse
            do throws(APIError) {
                response = try self.accept(route, body: body, raw: request.body, validator: validator)
            } catch {
                response = .error(error)
            }
            return .answer(response, delay: delay, ticket: ticket)
        }
    }

    /// Validates an admitted request and stores what it carries.
    private func accept(
        _ route: APIRoute,
        body: Any?,
        raw: [UInt8],
        validator: PayloadValidator
    ) throws(APIError) -> APIResponse {
        guard let object = body as? [String: Any] else {
            if raw.isEmpty { throw .invalidPayload("body: required (a JSON object)") }
            throw .invalidPayload(body == nil ? "body: not valid JSON" : "body: must be a JSON object")
        }
        switch route {
        case .batch:
            let events = try validator.batch(object, raw: raw)
            let (accepted, duplicates) = self.state.withLock { state in
                var accepted = 0
                for event in events
                where state.store.insertEvent(eventID: event.eventID, userID: event.userID, line: event.line) {
                    accepted += 1
                }
                state.stats.duplicates += events.count - accepted
                return (accepted, events.count - accepted)
            }
            return .json(
                202,
                .object([("ok", .bool(true)), ("accepted", .int(accepted)), ("duplicates", .int(duplicates))])
            )

        case .track:
            let event = try validator.track(object, raw: raw)
            let stored = self.state.withLock { state in
                let stored = state.store.insertEvent(eventID: event.eventID, userID: event.userID, line: event.line)
                if !stored { state.stats.duplicates += 1 }
                return stored
            }
            var members: [(String, JSONValue)] = [
                ("ok", .bool(true)), ("event_id", .string(event.eventID ?? UUID().uuidString.lowercased())),
            ]
            if !stored { members.append(("duplicate", .bool(true))) }
            return .json(202, .object(members))

        case .identify:
            let userID = try validator.identify(object, raw: raw)
            let record = StoredRecord(
                kind: .identify,
                eventID: nil,
                userID: userID,
                line: Self.recordLine(object, route: route)
            )
            self.state.withLock { state in
                state.store.append(record)
                state.stats.identifies += 1
            }
            return .json(202, .object([("ok", .bool(true))]))

        case .forget:
            let userID = try validator.forget(object)
            let record = StoredRecord(
                kind: .forget,
                eventID: nil,
                userID: userID,
                line: Self.recordLine(object, route: route)
            )
            let deleted = self.state.withLock { state in
                let deleted = state.store.deleteUser(userID)
                state.store.append(record)
                state.stats.forgets += 1
                return deleted
            }
            return .json(202, .object([("ok", .bool(true)), ("deleted", .int(deleted))]))
        }
    }

    /// The `event_id`s and `user_id`s a body carries, for the admin log. They are read from any
    /// body that parses, whatever the answer, so a test can see that a retry after a 503 or a
    /// dropped connection carried the same ids.
    private static func identifiers(route: APIRoute?, body: Any?) -> (eventIDs: [String?], userIDs: [String?]) {
        guard let route, let object = body as? [String: Any] else { return ([], []) }
        switch route {
        case .batch:
            guard let events = object["events"] as? [Any] else { return ([], []) }
            let objects = events.map { $0 as? [String: Any] }
            return (objects.map { $0?["event_id"] as? String }, objects.map { $0?["user_id"] as? String })
        case .track:
            return ([object["event_id"] as? String], [object["user_id"] as? String])
        case .identify, .forget:
            return ([], [object["user_id"] as? String])
        }
    }

    /// An identify or forget body as stored: the body plus `"_endpoint"`, so the event dump
    /// tells them from track events.
    private static func recordLine(_ object: [String: Any], route: APIRoute) -> [UInt8] {
        var annotated = object
        annotated["_endpoint"] = route.rawValue
        let data = try? JSONSerialization.data(
            withJSONObject: annotated,
            options: [.sortedKeys, .withoutEscapingSlashes]
        )
        return data.map { Array($0) } ?? []
    }
}
