import Foundation
import NIOCore

extension StandInAPI {
    /// Answers the admin endpoints, which need no key and are never faulted or logged.
    func handleAdmin(_ request: APIRequest) -> APIResponse {
        switch (request.path, request.method) {
        case ("/_admin/faults", .POST):
            return self.updateFaults(request.body)
        case ("/_admin/faults", .GET):
            return .json(200, self.state.withLock { $0.faults.json })
        case ("/_admin/stats", .GET):
            return .json(200, self.state.withLock { $0.stats.json(storedEvents: $0.store.eventCount) })
        case ("/_admin/log", .GET):
            var buffer = ByteBufferAllocator().buffer(capacity: 4_096)
            self.state.withLock { $0.log.writeNDJSON(to: &buffer) }
            return .ndjson(buffer)
        case ("/_admin/events", .GET):
            var buffer = ByteBuffer()
            self.state.withLock { state in
                buffer.reserveCapacity(state.store.byteCount)
                state.store.writeNDJSON(to: &buffer)
            }
            return .ndjson(buffer)
        case ("/_admin/reset", .POST):
            self.state.withLock { state in
                state = StandInState(configuration: self.configuration, generation: state.generation + 1, now: .now())
            }
            self.logger.info("state reset")
            return .json(200, .object([("ok", .bool(true))]))
        case ("/_admin/faults", _), ("/_admin/stats", _), ("/_admin/log", _), ("/_admin/events", _),
            ("/_admin/reset", _):
            return .error(.methodNotAllowed)
        default:
            return .error(.notFound)
        }
    }

    private func updateFaults(_ body: [UInt8]) -> APIResponse {
        var update: [String: Any] = [:]
        if !body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
                return .error(APIError(status: 400, code: "invalid_faults", message: "body: must be a JSON object"))
            }
            update = object
        }
        do throws(APIError) {
            let faults = try self.state.withLock { state throws(APIError) in
                try state.faults.apply(update)
                return state.faults
            }
            self.logger.info("faults set", metadata: ["standin.faults": "\(faults.json.text)"])
            return .json(200, faults.json)
        } catch {
            return .error(error)
        }
    }
}
