/// The upstream state as the metrics label it: a state and a reason from fixed sets, so that
/// `millimetric_relay_upstream_state` has a known, small set of series that all exist from the
/// start (at 0) and that alert rules can name.
///
/// The reason comes from the reason line the drainer records (``UpstreamVerdict``'s
/// `"<status> … from upstream"`), reduced to what an operator acts on: a 401 means the key, a
/// 404 the `host` setting, a 429 the fleet's share of the key's rate limit.
enum UpstreamCondition: CaseIterable, Sendable, Hashable {
    /// Nothing sent yet since start.
    case idle
    case ok
    /// 429: the key's rate limit is exceeded.
    case backingOffRateLimited
    /// 5xx, 408 or an unexpected status.
    case backingOffServerError
    /// No answer: resolution, connection, TLS, timeout.
    case backingOffNoAnswer
    /// 401: the key is missing, malformed, unknown or revoked.
    case pausedUnauthorized
    /// 403: the key may not ingest (a `pk_`/`rk_` key, or an account problem).
    case pausedForbidden
    /// 404: the `host` setting points at something that is not the API.
    case pausedNotFound
    /// 3xx: the `host` setting needs its final address (redirects are not followed).
    case pausedRedirect
    /// The `host` setting is not a URL libcurl accepts.
    case pausedInvalidURL
    /// Any other 4xx no single event caused.
    case pausedClientError

    init(_ state: UpstreamState) {
        switch state {
        case .idle:
            self = .idle
        case .ok:
            self = .ok
        case .backingOff(_, let reason):
            switch Self.status(in: reason) {
            case 429: self = .backingOffRateLimited
            case .some: self = .backingOffServerError
            case nil: self = reason.hasPrefix("unexpected status") ? .backingOffServerError : .backingOffNoAnswer
            }
        case .paused(let reason):
            switch Self.status(in: reason) {
            case 401: self = .pausedUnauthorized
            case 403: self = .pausedForbidden
            case 404: self = .pausedNotFound
            case .some(300...399): self = .pausedRedirect
            case .some: self = .pausedClientError
            case nil: self = .pausedInvalidURL
            }
        }
    }

    /// The `state` label: `idle`, `ok`, `backing_off` or `paused`, as `status` shows it.
    var state: String {
        switch self {
        case .idle: "idle"
        case .ok: "ok"
        case .backingOffRateLimited, .backingOffServerError, .backingOffNoAnswer: "backing_off"
        case .pausedUnauthorized, .pausedForbidden, .pausedNotFound, .pausedRedirect, .pausedInvalidURL, .pausedClientError: "paused"
        }
    }

    /// The `reason` label; `none` for `idle` and `ok`.
    var reason: String {
        switch self {
        case .idle, .ok: "none"
        case .backingOffRateLimited: "rate_limited"
        case .backingOffServerError: "server_error"
        case .backingOffNoAnswer: "no_answer"
        case .pausedUnauthorized: "unauthorized"
        case .pausedForbidden: "forbidden"
        case .pausedNotFound: "not_found"
        case .pausedRedirect: "redirect"
        case .pausedInvalidURL: "invalid_url"
        case .pausedClientError: "client_error"
        }
    }

    /// The HTTP status a reason line starts with (`"401 invalid_api_key from upstream"`), if any.
    private static func status(in reason: String) -> Int? {
        let digits = reason.prefix { $0.isASCII && $0.isNumber }
        guard digits.count == 3, reason.dropFirst(3).first == " " else { return nil }
        return Int(digits)
    }
}
