import Foundation
import MillimetricRelay
import Testing

extension DeliveryDecisionTests {
    @Suite
    struct RetryAfterTests {
        /// 2026-11-22T10:00:00Z.
        let now = Date(timeIntervalSince1970: 1_795_341_600)
        /// 1994-11-06T08:49:37Z, the example date of RFC 9110.
        let rfcExample = Date(timeIntervalSince1970: 784_111_777)

        @Test(arguments: [
            ("2", Duration.seconds(2)),
            ("  3 ", .seconds(3)),
            ("\t5\t", .seconds(5)),
            ("0", .zero),
            ("0120", .seconds(120)),
            ("86400", .seconds(86_400)),
        ])
        func deltaSecondsAreSeconds(value: String, expected: Duration) {
            #expect(RetryAfter.delay(from: value, now: now) == expected)
        }

        @Test func hugeDeltaSecondsAreCappedNotWrapped() {
            #expect(RetryAfter.delay(from: "2147483647", now: now) == .seconds(2_147_483_647))
            #expect(RetryAfter.delay(from: "2147483648", now: now) == RetryAfter.largestDelay)
            #expect(RetryAfter.delay(from: "99999999999999999999999999", now: now) == RetryAfter.largestDelay)
        }

        @Test(arguments: [
            "", "   ", "abc", "-1", "+5", "3.5", "1e3", "2 s", "5s", "0x10", "٣",
            "Sun, 22 Nov 2026 10:00:30 PST",
            "Sun, 22 Nov 2026 10:00:30",
            "Sun, 22 Nov 2026",
            "Sun, 31 Feb 2026 10:00:30 GMT",
            "Sun, 00 Nov 2026 10:00:30 GMT",
            "Sun, 22 Nov 2026 24:00:00 GMT",
            "Sun, 22 Nov 2026 10:60:00 GMT",
            "Sun, 22 Foo 2026 10:00:30 GMT",
            "Sun, 2 Nov 2026 10:00:30 GMT",
            "Sun, 22 Nov 26 10:00:30 GMT",
            "Funday, 22-Nov-26 10:00:30 GMT",
            "Sun, 22 Nov 2026 10:00:30 GMT trailing",
            "Sun Nov 22 10:00:30 26",
            "2026-11-22T10:00:30Z",
        ])
        func garbageIsNil(value: String) {
            #expect(RetryAfter.delay(from: value, now: now) == nil)
        }

        @Test func imfFixdateInTheFutureIsTheTimeUntilThen() {
            #expect(RetryAfter.delay(from: "Sun, 22 Nov 2026 10:00:30 GMT", now: now) == .seconds(30))
            #expect(RetryAfter.delay(from: "Tue, 01 Dec 2026 10:00:00 GMT", now: now) == .seconds(9 * 86_400))
            #expect(RetryAfter.delay(from: "  Sun, 22 Nov 2026 11:00:00 GMT ", now: now) == .seconds(3600))
        }

        @Test func httpDateInThePastOrNowIsZero() {
            #expect(RetryAfter.delay(from: "Sun, 22 Nov 2026 09:59:59 GMT", now: now) == .zero)
            #expect(RetryAfter.delay(from: "Sun, 22 Nov 2026 10:00:00 GMT", now: now) == .zero)
            #expect(RetryAfter.delay(from: "Thu, 01 Jan 1970 00:00:00 GMT", now: now) == .zero)
            #expect(RetryAfter.delay(from: "Mon, 01 Jan 1900 00:00:00 GMT", now: now) == .zero)
        }

        @Test func theThreeFormsOfTheSameDateAgree() {
            let tenSecondsBefore = rfcExample.addingTimeInterval(-10)

            for value in [
                "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
            ] {
                #expect(RetryAfter.delay(from: value, now: tenSecondsBefore) == .seconds(10), "\(value)")
            }
        }

        @Test func rfc850DateInTheFutureIsTheTimeUntilThen() {
            #expect(RetryAfter.delay(from: "Sunday, 22-Nov-26 10:01:00 GMT", now: now) == .seconds(60))
        }

        @Test func rfc850TwoDigitYearsMoreThanFiftyYearsAheadAreInThePast() {
            // 2026 + 50 = 2076 is still the future; 77 means 1977.
            let in2076 = RetryAfter.delay(from: "Sunday, 22-Nov-76 10:00:00 GMT", now: now)
            #expect(in2076 != nil && in2076! > .seconds(49 * 365 * 86_400))
            #expect(RetryAfter.delay(from: "Monday, 22-Nov-77 10:00:00 GMT", now: now) == .zero)
            #expect(RetryAfter.delay(from: "Sunday, 06-Nov-94 08:49:37 GMT", now: now) == .zero)
        }

        @Test func asctimeDateWithOneOrTwoDigitDays() {
            #expect(RetryAfter.delay(from: "Sun Nov 22 10:00:05 2026", now: now) == .seconds(5))
            #expect(RetryAfter.delay(from: "Tue Dec  1 10:00:00 2026", now: now) == .seconds(9 * 86_400))
        }

        @Test func dayAndMonthNamesAreMatchedWithoutRegardToCase() {
            #expect(RetryAfter.delay(from: "sun, 22 NOV 2026 10:00:30 GMT", now: now) == .seconds(30))
        }

        @Test func leapDaysAreValidOnlyInLeapYears() {
            #expect(RetryAfter.delay(from: "Tue, 29 Feb 2028 10:00:00 GMT", now: now) != nil)
            #expect(RetryAfter.delay(from: "Mon, 29 Feb 2027 10:00:00 GMT", now: now) == nil)
            #expect(RetryAfter.delay(from: "Tue, 29 Feb 2000 10:00:00 GMT", now: now) == .zero)
            #expect(RetryAfter.delay(from: "Thu, 29 Feb 2100 10:00:00 GMT", now: now) == nil)
        }

        @Test func aFractionalNowGivesAFractionalDelay() {
            let halfPast = now.addingTimeInterval(0.5)

            let delay = RetryAfter.delay(from: "Sun, 22 Nov 2026 10:00:30 GMT", now: halfPast)

            #expect(delay == .milliseconds(29_500))
        }
    }
}
