import Foundation
import RelayTestKit
import SQLiteSupport

extension RelayProcess {
    /// The JSON the outbox holds for `eventID` (what the API will receive), read-only.
    func queuedBody(eventID: String) throws -> String? {
        let connection = try SQLiteConnection(path: databasePath, mode: .readOnly)
        defer { try? connection.close() }
        let statement = try connection.prepare("SELECT body FROM events WHERE event_id = ? ORDER BY seq DESC LIMIT 1")
        try statement.bind(eventID, at: 1)
        guard try statement.step() else { return nil }
        return statement.text(at: 0)
    }
}
