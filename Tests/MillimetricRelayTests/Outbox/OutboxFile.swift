import Foundation
import Logging

@testable import MillimetricRelay

/// A fresh outbox file for one test, in its own directory, removed with the fixture.
final class OutboxFile {
    let directory: URL
    var path: String { directory.appendingPathComponent("outbox.sqlite").path }

    init(_ prefix: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// A writer on the file, as the daemon opens it (synchronous normal, no practical cap).
    func openWriter() throws -> OutboxWriter {
        try OutboxWriter(path: path, synchronous: .normal, maximumBytes: 1 << 30, logger: Logger(label: "test"))
    }
}
