import CurlSupport
import Foundation
import Testing

@testable import MillimetricRelay

/// The `state` and `reason` labels of `millimetric_relay_upstream_state`, from the reason lines
/// the drainer really records (made here by ``UpstreamVerdict`` itself).
@Suite struct UpstreamConditionTests {
    static func pausedReason(status: Int, body: String = "") -> String {
        let verdict = UpstreamVerdict(status: status, body: Array(body.utf8), retryAfter: nil, request: .batch(eventCount: 1))
        guard case .paused(let reason) = verdict else { Issue.record("\(status) does not pause"); return "" }
        return reason
    }

    static func retryReason(status: Int) -> String {
        let verdict = UpstreamVerdict(status: status, body: [], retryAfter: nil, request: .batch(eventCount: 1))
        switch verdict {
        case .rateLimited(_, let reason), .retryable(let reason): return reason
        default: Issue.record("\(status) is not retried"); return ""
        }
    }

    @Test(arguments: [
        (401, #"{"ok":false,"error":"invalid_api_key"}"#, "unauthorized"),
        (401, "", "unauthorized"),
        (403, #"{"ok":false,"error":"origin_not_allowed"}"#, "forbidden"),
        (404, "not here", "not_found"),
        (301, "", "redirect"),
        (307, "", "redirect"),
        (409, "", "client_error"),
        (451, "", "client_error"),
    ])
    func aPauseIsLabelledByWhatTheOperatorMustFix(status: Int, body: String, reason: String) {
        let condition = UpstreamCondition(.paused(reason: Self.pausedReason(status: status, body: body)))
        #expect(condition.state == "paused")
        #expect(condition.reason == reason)
    }

    @Test func aURLLibcurlRefusesPausesAsInvalidURL() {
        let verdict = UpstreamVerdict(transportError: CurlError(kind: .invalidURL, code: 3, summary: "URL using bad/illegal format"))
        guard case .paused(let reason) = verdict else { Issue.record("an invalid URL does not pause"); return }
        #expect(UpstreamCondition(.paused(reason: reason)) == .pausedInvalidURL)
    }

    @Test func backingOffIsLabelledRateLimitedServerErrorOrNoAnswer() {
        let until = Date() + 5
        #expect(UpstreamCondition(.backingOff(until: until, reason: Self.retryReason(status: 429))) == .backingOffRateLimited)
        #expect(UpstreamCondition(.backingOff(until: until, reason: Self.retryReason(status: 503))) == .backingOffServerError)
        #expect(UpstreamCondition(.backingOff(until: until, reason: Self.retryReason(status: 408))) == .backingOffServerError)
        #expect(UpstreamCondition(.backingOff(until: until, reason: Self.retryReason(status: 999))) == .backingOffServerError)
        let timeout = UpstreamVerdict(transportError: CurlError(kind: .timedOut, code: 28, summary: "Timeout was reached"))
        #expect(UpstreamCondition(.backingOff(until: until, reason: timeout.reason!)) == .backingOffNoAnswer)
    }

    @Test func idleAndOkHaveNoReason() {
        #expect(UpstreamCondition(.idle).state == "idle")
        #expect(UpstreamCondition(.ok).state == "ok")
        #expect(UpstreamCondition(.ok).reason == "none")
    }

    /// The states are those `status` shows, and every (state, reason) pair is distinct.
    @Test func theLabelSetIsFixedAndDistinct() {
        let pairs = UpstreamCondition.allCases.map { "\($0.state)/\($0.reason)" }
        #expect(Set(pairs).count == UpstreamCondition.allCases.count)
        #expect(Set(UpstreamCondition.allCases.map(\.state)) == ["idle", "ok", "backing_off", "paused"])
        #expect(UpstreamCondition.allCases.allSatisfy { $0.state == UpstreamCondition(state(for: $0)).state })
    }

    private func state(for condition: UpstreamCondition) -> UpstreamState {
        switch condition.state {
        case "idle": .idle
        case "ok": .ok
        case "backing_off": .backingOff(until: Date(), reason: "503 from upstream")
        default: .paused(reason: "401 from upstream")
        }
    }
}
