extension ListenFDs {
    /// An inherited descriptor and the name systemd gave it.
    ///
    /// Names let a unit pass several sockets (say, ingest and metrics) and the daemon tell them
    /// apart without relying on their order in the socket unit.
    public struct NamedDescriptor: Sendable, Hashable {
        /// The file descriptor number (3 or above).
        public let descriptor: Int32
        /// The name from `LISTEN_FDNAMES`, or `"unknown"` if systemd sent none.
        public let name: String

        public init(descriptor: Int32, name: String) {
            self.descriptor = descriptor
            self.name = name
        }
    }
}
