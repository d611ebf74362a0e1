import Foundation
import FuzzSupport
import MillimetricRelay

/// What must hold for any `Retry-After` value the API could send (RFC 9110 §10.2.3):
///
/// - the wait is never negative and never longer than `RetryAfter.largestDelay`, whatever the
///   form (a garbled header must not stall delivery for ages, nor make it spin);
/// - surrounding spaces and tabs do not change it;
/// - delta-seconds mean exactly that many seconds (saturating at the cap, never wrapping);
/// - an HTTP-date is accepted exactly when ``ReferenceHTTPDate`` (the RFC grammar, with
///   Foundation's calendar doing the arithmetic) accepts it, and waits until that instant;
/// - every instant, written in each of the three date forms, reads back as a wait until it.
///
/// Each input is read at a fixed clock and at one derived from the input, so that the RFC 850
/// two-digit year window is explored around different centuries.
enum RetryAfterInvariants {
    /// 2026-11-22T10:00:00Z, the date the tests use.
    static let fixedNow = Date(timeIntervalSince1970: 1_795_341_600)
    static let cap = RetryAfter.largestDelay

    static func check(_ input: UnsafeRawBufferPointer) {
        let text = String(decoding: input, as: UTF8.self)
        var generator = SplitMix64(hashing: input)
        // Whole seconds between 1970 and 2199, as a real clock's `Date()` (fractions included).
        let derivedNow = Date(timeIntervalSince1970: Double(generator.next() % 7_258_118_400) + 0.25)
        for now in [fixedNow, derivedNow] {
            checkValue(text, now: now)
            checkWrittenInstant(generator.next(), now: now)
        }
    }

    static func checkValue(_ text: String, now: Date) {
        let delay = RetryAfter.delay(from: text, now: now)
        if let delay {
            Invariant.require(delay >= .zero && delay <= cap, "\(text.debugDescription) waits \(delay)")
        }
        let padded = RetryAfter.delay(from: " \t" + text + "\t ", now: now)
        Invariant.require(padded == delay, "spaces change \(text.debugDescription): \(String(describing: delay)) vs \(String(describing: padded))")

        let trimmed = text.trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
        if !trimmed.isEmpty, trimmed.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            Invariant.require(delay == expectedDeltaSeconds(trimmed), "delta-seconds \(trimmed.debugDescription) wait \(String(describing: delay))")
            return
        }
        let reference = ReferenceHTTPDate.secondsSince1970(trimmed, now: now)
        switch (delay, reference) {
        case (nil, nil):
            break
        case (let delay?, let instant?):
            let expected = wait(until: instant, now: now)
            Invariant.require(delay == expected, "\(trimmed.debugDescription) at \(now) waits \(delay), the reference \(expected)")
        case (nil, let instant?):
            Invariant.fail("\(trimmed.debugDescription) is refused; the reference reads \(instant)")
        case (let delay?, nil):
            Invariant.fail("\(trimmed.debugDescription) waits \(delay); the reference refuses it")
        }
    }

    /// An instant between 1970 and 9999, written in each form the RFC allows, reads back.
    static func checkWrittenInstant(_ random: UInt64, now: Date) {
        let instant = Int64(random % 253_402_300_800)  // 1970-01-01 ..< 10000-01-01
        let expected = wait(until: instant, now: now)
        for (form, text) in ReferenceHTTPDate.spellings(of: instant, now: now) {
            let delay = RetryAfter.delay(from: text, now: now)
            Invariant.require(delay == expected, "the \(form) date \(text.debugDescription) at \(now) waits \(String(describing: delay)), not \(expected)")
        }
    }

    static func expectedDeltaSeconds(_ digits: String) -> Duration {
        let significant = digits.drop { $0 == "0" }
        guard significant.count <= 10, let value = Int64(significant.isEmpty ? "0" : String(significant)) else { return cap }
        return min(.seconds(value), cap)
    }

    static func wait(until instant: Int64, now: Date) -> Duration {
        let seconds = Double(instant) - now.timeIntervalSince1970
        return seconds > 0 ? min(.seconds(seconds), cap) : .zero
    }
}
