import FoundationEssentials
import Glibc

extension Error {
    /// The reason an operating-system call failed, for messages that already name the file:
    /// `No such file or directory` rather than the whole `CocoaError(...)` dump.
    ///
    /// FoundationEssentials' file APIs throw a `CocoaError` that wraps the `POSIXError`; it has
    /// no `localizedDescription` (that is in the full Foundation module, which the relay does
    /// not link: issue 11), so the errno's text is used. Anything else is described as is.
    var reason: String {
        let posix = (self as? POSIXError) ?? ((self as? CocoaError)?.underlying as? POSIXError)
        if let posix { return String(cString: strerror(posix.code.rawValue)) }
        return "\(self)"
    }
}
