#if canImport(Glibc)
import Glibc
#endif

/// Which local peers may send `forget` lines, by the Unix uid the kernel reports for the socket
/// (`SO_PEERCRED`), which a client cannot forge.
///
/// Erasing a user's queued data is destructive, so by default only root and the relay's own
/// user may do it; `forget_allowed_uids` widens that (a list of uids, or `*` for everyone who can
/// reach the socket).
public struct ForgetPolicy: Sendable, Equatable {
    public enum Allowed: Sendable, Equatable {
        case everyone
        case uids(Set<UInt32>)
    }

    public var allowed: Allowed

    public init(_ allowed: Allowed) {
        self.allowed = allowed
    }

    /// Root and the uid the daemon runs as.
    public static var `default`: ForgetPolicy { ForgetPolicy(.uids([0, UInt32(geteuid())])) }

    /// Whether a peer with `uid` (nil when unknown) may send forget.
    public func permits(uid: UInt32?) -> Bool {
        switch allowed {
        case .everyone: return true
        case .uids(let uids):
            guard let uid else { return false }
            return uids.contains(uid)
        }
    }
}
