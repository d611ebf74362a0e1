import Foundation

/// A fresh directory under `/tmp` for one test, benchmark or chaos run: the relay's sockets,
/// state directories and logs. Short, because a Unix socket path must stay under 108 bytes.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String) throws(TestKitError) {
        var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TestKitError("cannot create a temp dir under /tmp: \(String(cString: strerror(errno)))")
        }
        path = String(cString: created)
    }

    /// An existing directory (created when missing), for a work directory the caller chose.
    public init(existing path: String) throws(TestKitError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw TestKitError("cannot create \(path): \(error)")
        }
        self.path = path
    }

    /// A path inside the directory.
    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// A new subdirectory.
    public func subdirectory(_ name: String) throws(TestKitError) -> String {
        let sub = file(name)
        do {
            try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        } catch {
            throw TestKitError("cannot create \(sub): \(error)")
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
