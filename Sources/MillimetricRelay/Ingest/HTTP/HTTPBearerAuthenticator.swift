import NIOHTTP1
import Synchronization

/// Checks `Authorization: Bearer <key>` against the relay's own key, in the API's order:
/// missing or malformed: 401 `malformed_api_key`; a publishable `pk_` key: 403 (the API's
/// answer to a browser key on a server endpoint); any other key than the relay's: 401
/// `invalid_api_key`.
///
/// Why the relay's own key: it is what the apps already hold (`MILLIMETRIC_KEY`), and the API
/// itself requires this server key for everything the relay accepts, forget included. Over
/// HTTP there is no peer uid, so for `/v1/forget` the key stands in for `forget_allowed_uids`.
/// The comparison takes the same time wherever the keys differ, and no key is ever logged.
/// A reload (SIGHUP) replaces the key for the next request.
final class HTTPBearerAuthenticator: Sendable {
    private let expected: Mutex<[UInt8]>

    init(key: APIKey) {
        expected = Mutex(Self.secret(of: key))
    }

    func replace(key: APIKey) {
        let secret = Self.secret(of: key)
        expected.withLock { $0 = secret }
    }

    private static func secret(of key: APIKey) -> [UInt8] {
        Array(key.authorizationHeader.dropFirst("Authorization: Bearer ".count).utf8)
    }

    func check(_ headers: HTTPHeaders, route: HTTPRoute) -> HTTPAPIError? {
        guard let authorization = headers.first(name: "authorization") else {
            return HTTPAPIError(.unauthorized, "malformed_api_key", "Missing Authorization: Bearer <key> header.")
        }
        let pieces = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard pieces.count == 2, pieces[0].lowercased() == "bearer" else {
            return HTTPAPIError(.unauthorized, "malformed_api_key", "Authorization must be 'Bearer <key>'.")
        }
        let key = pieces[1].utf8.drop { $0 == 0x20 || $0 == 0x09 }
        guard Self.isWellFormed(key) else {
            return HTTPAPIError(.unauthorized, "malformed_api_key", "Key doesn't match (pk|sk|rk)_*_*_*.")
        }
        if key.starts(with: "pk_".utf8) {
            return route == .forget
                ? HTTPAPIError(.forbidden, "forget_requires_secret_key", "/v1/forget needs an sk_* key.")
                : HTTPAPIError(.forbidden, "origin_not_allowed", "Publishable pk_* keys are for the browser snippet; use an sk_* key server-side.")
        }
        guard Self.constantTimeEqual(Array(key), expected.withLock { $0 }) else {
            return HTTPAPIError(.unauthorized, "invalid_api_key", "Key not found: the relay accepts its own key only (the one it delivers with).")
        }
        return nil
    }

    /// `(pk|sk|rk)_*_*_*`: four or more non-empty `_`-separated parts of visible ASCII.
    static func isWellFormed(_ key: some Collection<UInt8>) -> Bool {
        let parts = key.split(separator: UInt8(ascii: "_"), omittingEmptySubsequences: false)
        guard parts.count >= 4, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { (0x21...0x7E).contains($0) } }) else { return false }
        return ["pk", "sk", "rk"].contains { parts[0].elementsEqual($0.utf8) }
    }

    /// Compares every byte whatever the first difference, so the answer time does not tell an
    /// attacker how much of a guessed key is right. (Only the length can differ in time.)
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
