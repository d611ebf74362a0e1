import ArgumentParser
@_spi(Testing) import MillimetricRelay

/// The durability the outbox runs with: the relay's two settings, and `off`, which users
/// cannot choose (it is not a SynchronousMode) but which the driver must show losing data.
enum SynchronousSetting: String, CaseIterable, ExpressibleByArgument, Sendable {
    case full, normal, off

    var relayMode: SynchronousMode {
        switch self {
        case .full, .off: .full
        case .normal: .normal
        }
    }

    /// Run after the outbox's own PRAGMAs, through ``OutboxTestHooks``.
    var sqlAfterOpen: String? { self == .off ? "PRAGMA synchronous = OFF" : nil }
}
