/// The peer of a Unix socket as the kernel reports it (`SO_PEERCRED`): the layout of glibc's
/// `struct ucred`, which Swift's Glibc module does not import (it needs `_GNU_SOURCE`).
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
