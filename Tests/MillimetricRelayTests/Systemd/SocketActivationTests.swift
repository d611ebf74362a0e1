import SystemdSupport
import Testing

@testable import MillimetricRelay

/// Which inherited socket serves what, by `LISTEN_FDNAMES` (the process-level part, with real
/// sockets, is `SystemdTests.namedSocketActivation…`).
@Suite struct SocketActivationTests {
    typealias Named = ListenFDs.NamedDescriptor

    @Test func aSingleUnnamedSocketIsTheIngestSocketAsBeforeNames() {
        #expect(SocketActivation.assign([Named(descriptor: 3, name: "unknown")]) == .init(ingest: 3, http: nil))
        // systemd's default name is the socket unit's.
        #expect(SocketActivation.assign([Named(descriptor: 3, name: "millimetric-relay.socket")]) == .init(ingest: 3, http: nil))
        #expect(SocketActivation.assign([]) == .init(ingest: nil, http: nil))
    }

    @Test func namesPickTheListenersWhateverTheOrder() {
        #expect(SocketActivation.assign([Named(descriptor: 3, name: "http"), Named(descriptor: 4, name: "ingest")]) == .init(ingest: 4, http: 3))
        #expect(SocketActivation.assign([Named(descriptor: 3, name: "ingest"), Named(descriptor: 4, name: "http")]) == .init(ingest: 3, http: 4))
    }

    @Test func anHTTPSocketAloneStartsNoIngestFromIt() {
        #expect(SocketActivation.assign([Named(descriptor: 3, name: "http")]) == .init(ingest: nil, http: 3))
    }

    @Test func socketsBeyondTheTwoAreIgnoredAndReported() {
        let extra = Named(descriptor: 5, name: "metrics")
        #expect(SocketActivation.assign([Named(descriptor: 3, name: "ingest"), Named(descriptor: 4, name: "http"), extra])
            == .init(ingest: 3, http: 4, ignored: [extra]))
        // Without an "ingest", the first socket not named "http" is the ingest socket.
        let second = Named(descriptor: 4, name: "unknown")
        #expect(SocketActivation.assign([Named(descriptor: 3, name: "unknown"), second]) == .init(ingest: 3, http: nil, ignored: [second]))
    }
}
