import Foundation
import NIOHTTP1

/// The API's key rules: format, known keys, and which key kinds may ingest.
///
/// The order of checks is the API's: a malformed key is 401 before anything else, an unknown
/// key 401 next, and only a well-formed, known key is judged by its kind (403 for `pk_`/`rk_`).
struct APIKeyPolicy: Sendable {
    /// The keys `--keys` listed; nil means every well-formed key is known.
    let knownKeys: Set<String>?

    /// Whether `key` matches `(pk|sk|rk)_*_*_*`: at least four non-empty `_`-separated parts of
    /// visible ASCII, the first naming the key kind.
    static func isWellFormed(_ key: String) -> Bool {
        let parts = key.utf8.split(separator: UInt8(ascii: "_"), omittingEmptySubsequences: false)
        guard parts.count >= 4 else { return false }
        guard parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { (0x21...0x7E).contains($0) } }) else { return false }
        return ["pk", "sk", "rk"].contains(String(decoding: parts[0], as: UTF8.self))
    }

    /// The error for this request's `Authorization` header, or nil when the key may call `route`.
    func check(_ headers: HTTPHeaders, route: APIRoute) -> APIError? {
        guard let authorization = headers.first(name: "authorization") else {
            return .malformedAPIKey("Missing Authorization: Bearer <key> header.")
        }
        let pieces = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard pieces.count == 2, pieces[0].lowercased() == "bearer" else {
            return .malformedAPIKey("Authorization must be 'Bearer <key>'.")
        }
        let key = pieces[1].trimmingCharacters(in: .whitespaces)
        guard Self.isWellFormed(key) else {
            return .malformedAPIKey("Key doesn't match (pk|sk|rk)_*_*_*.")
        }
        if let knownKeys = self.knownKeys, !knownKeys.contains(key) {
            return .invalidAPIKey
        }
        if key.hasPrefix("pk_") {
            return route == .forget ? .forgetRequiresSecretKey : .originNotAllowed
        }
        if key.hasPrefix("rk_") {
            return .readOnlyKey
        }
        return nil
    }
}
