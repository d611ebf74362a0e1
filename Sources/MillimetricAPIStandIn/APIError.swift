/// An error answer of the Millimetric API: HTTP status, stable `error` code and a message.
///
/// The codes and statuses are the API's own (see the track documentation's "Common errors"), so
/// that a relay tested against the stand-in reacts to exactly what production sends.
struct APIError: Error, Sendable, Equatable {
    let status: Int
    let code: String
    /// `var` so that the synthesized init lets it out (nil: no `message` member).
    var message: String?

    /// The answer body: `{"ok":false,"error":CODE}` plus `"message"` when there is one.
    var body: JSONValue {
        var members: [(String, JSONValue)] = [("ok", .bool(false)), ("error", .string(self.code))]
        if let message = self.message {
            members.append(("message", .string(message)))
        }
        return .object(members)
    }

    static func invalidPayload(_ message: String) -> APIError {
        APIError(status: 400, code: "invalid_payload", message: message)
    }

    static func malformedAPIKey(_ message: String) -> APIError {
        APIError(status: 401, code: "malformed_api_key", message: message)
    }

    static let invalidAPIKey = APIError(status: 401, code: "invalid_api_key", message: "Key not found.")
    static let originNotAllowed = forbidden(
        "origin_not_allowed", "Publishable pk_* keys are for the browser snippet; use an sk_* key server-side.")
    static let forgetRequiresSecretKey = forbidden("forget_requires_secret_key", "/v1/forget needs an sk_* key.")
    static let readOnlyKey = forbidden("read_only_key", "rk_* keys are read-only; ingest needs an sk_* key.")
    static let payloadTooLarge = APIError(
        status: 413,
        code: "payload_too_large",
        message: "Request body is larger than 256 KB (262,144 bytes)."
    )
    static let rateLimited = APIError(status: 429, code: "rate_limited")
    static let unavailable = APIError(status: 503, code: "unavailable")
    static let notFound = APIError(status: 404, code: "not_found")
    static let methodNotAllowed = APIError(status: 405, code: "method_not_allowed")
    static func forced(status: Int) -> APIError { APIError(status: status, code: "forced") }

    /// A 403: the key may not do this.
    private static func forbidden(_ code: String, _ message: String) -> APIError {
        APIError(status: 403, code: code, message: message)
    }
}
