import FoundationEssentials
import Glibc

/// An exclusive `flock` on `relay.lock` in the state directory, held for the daemon's life.
///
/// Two daemons writing one outbox would break the single-writer design, so the second one exits
/// 75. `status` uses the same lock, without taking it, to tell whether a daemon is running.
public final class StateDirectoryLock: Sendable {
    private let descriptor: Int32
    public let path: String

    /// The state directory or its lock file cannot be created or opened (exit 73).
    public struct CannotCreate: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Takes the lock, creating the state directory (mode 0750) and the lock file if needed.
    /// Returns nil when another process holds it.
    public static func acquire(stateDirectory: String, path: String) throws(CannotCreate) -> StateDirectoryLock? {
        do {
            try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        } catch {
            throw CannotCreate(description: "cannot create the state directory \(stateDirectory): \(error.reason); check that its parent exists, is a directory and is writable by this user")
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            throw CannotCreate(description: "cannot open \(path): \(String(cString: strerror(errno))); check the state directory's owner and mode")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            return nil
        }
        return StateDirectoryLock(descriptor: fd, path: path)
    }

    /// Whether some process holds the lock now (the daemon is running).
    public static func isHeld(path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) != 0 { return errno == EWOULDBLOCK }
        flock(fd, LOCK_UN)
        return false
    }

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit {
        close(descriptor)
    }
}
