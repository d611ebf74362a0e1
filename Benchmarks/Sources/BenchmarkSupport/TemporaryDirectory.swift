import Foundation

/// A fresh directory under `/tmp` for one benchmark invocation: the relay's sockets, state
/// directories, logs and the bare-SQLite databases. Short, because a Unix socket path must stay
/// under 108 bytes.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String) throws(BenchmarkError) {
        var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw BenchmarkError("cannot create a temp dir under /tmp: \(String(cString: strerror(errno)))")
        }
        path = String(cString: created)
    }

    /// A path inside the directory.
    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// A new subdirectory.
    public func subdirectory(_ name: String) throws(BenchmarkError) -> String {
        let sub = file(name)
        do {
            try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        } catch {
            throw BenchmarkError("cannot create \(sub): \(error)")
        }
        return sub
    }

    public func remove(_ name: String) {
        try? FileManager.default.removeItem(atPath: file(name))
    }

    public func removeAll() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
