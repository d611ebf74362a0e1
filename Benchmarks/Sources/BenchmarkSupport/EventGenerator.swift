import Foundation
import RelayTestKit

/// Realistic track events, like the peer benchmark's `loadgen.py`: an event name, a unique
/// UUID-shaped `event_id` (run, client and sequence), `anonymous_id`, `user_id` (30 % `null`,
/// as producers write before login), `session_id`, a millisecond timestamp, a URL with utm
/// parameters and its path, and 3–6 properties. About 450 bytes each.
///
/// Each event depends only on (seed, client, sequence), so a backlog can be generated in chunks
/// and still be the same events. The JSON is already in the relay's canonical form (compact,
/// numbers as JavaScript prints them), so the stored rows are as long as the lines.
public struct EventGenerator: Sendable {
    /// 8 hex digits in every `event_id`, to tell runs apart.
    public let run: UInt32
    public let seed: UInt64
    /// `YYYY-MM-DDTHH:MM:SS` of the generator's creation; events add `.mmmZ`.
    private let timestampPrefix: [UInt8]

    public init(run: UInt32 = UInt32.random(in: 0...UInt32.max), seed: UInt64 = 1, now: Date = Date()) {
        self.run = run
        self.seed = seed
        var seconds = time_t(now.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        timestampPrefix = Array(
            String(
                format: "%04d-%02d-%02dT%02d:%02d:%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                Int(parts.tm_mday),
                Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec)
            ).utf8)
    }

    /// Events `sequence` of `client`, as one batch.
    public func batch(client: Int, sequence: Range<Int>) -> EventBatch {
        var batch = EventBatch()
        batch.bytes.reserveCapacity(sequence.count * 480)
        batch.lineEnds.reserveCapacity(sequence.count)
        for number in sequence {
            append(client: client, sequence: number, to: &batch.bytes)
            batch.bytes.append(0x0A)
            batch.lineEnds.append(batch.bytes.count)
        }
        return batch
    }

    /// The `event_id` of one event.
    public func eventID(client: Int, sequence: Int) -> String {
        var bytes: [UInt8] = []
        appendEventID(client: client, sequence: sequence, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let names = [
        "page_viewed", "product_viewed", "product_added_to_cart", "checkout_started",
        "order_completed", "signed_up", "search_performed", "button_clicked",
    ]
    private static let paths = [
        "/", "/products/red-sneakers", "/products/blue-shirt", "/cart", "/checkout", "/search",
        "/blog/how-to-choose-shoes", "/pricing", "/signup",
    ]
    private static let sources = ["google", "newsletter", "facebook", "twitter", "bing", "partner_site"]
    private static let mediums = ["cpc", "email", "social", "referral", "display"]
    private static let campaigns = ["spring_sale_2024", "black_friday", "launch_v2", "retargeting_q3", "brand"]
    private static let categories = ["shoes", "shirts", "accessories", "outdoor", "kids"]
    private static let queries = ["red sneakers", "running shoes size 44", "rain jacket", "gift card", "wool socks"]
    private static let referrers = ["https://www.google.com/", "https://news.example.org/article/123", ""]
    private static let propertyCount = 14

    private func appendEventID(client: Int, sequence: Int, to out: inout [UInt8]) {
        Self.hex(UInt64(run), digits: 8, to: &out)
        out.append(UInt8(ascii: "-"))
        Self.hex(UInt64(client), digits: 4, to: &out)
        out.append(contentsOf: "-4000-8000-".utf8)
        Self.hex(UInt64(sequence), digits: 12, to: &out)
    }

    private func append(client: Int, sequence: Int, to out: inout [UInt8]) {
        var rng = SplitMix64(
            seed: seed &* 0x1000_0000_01B3 ^ UInt64(client) &* 0x9E37_79B9 ^ UInt64(sequence) &* 0xC2B2_AE3D_27D4_EB4F)
        out.append(contentsOf: #"{"event":""#.utf8)
        out.append(contentsOf: rng.pick(Self.names).utf8)
        out.append(contentsOf: #"","event_id":""#.utf8)
        appendEventID(client: client, sequence: sequence, to: &out)
        out.append(contentsOf: #"","anonymous_id":"anon_"#.utf8)
        Self.hex(rng.next(), digits: 16, to: &out)
        if rng.below(10) < 7 {
            out.append(contentsOf: #"","user_id":"user_"#.utf8)
            Self.decimal(UInt64(rng.below(10_000_000)), digits: 7, to: &out)
            out.append(contentsOf: #"","session_id":"sess_"#.utf8)
        } else {
            out.append(contentsOf: #"","user_id":null,"session_id":"sess_"#.utf8)
        }
        Self.hex(rng.next() & 0xFFFF_FFFF_FFFF, digits: 12, to: &out)
        out.append(contentsOf: #"","timestamp":""#.utf8)
        out.append(contentsOf: timestampPrefix)
        out.append(UInt8(ascii: "."))
        Self.decimal(UInt64(sequence % 1000), digits: 3, to: &out)
        let path = rng.pick(Self.paths)
        out.append(contentsOf: #"Z","url":"https://shop.example.com"#.utf8)
        out.append(contentsOf: path.utf8)
        out.append(contentsOf: "?utm_source=".utf8)
        out.append(contentsOf: rng.pick(Self.sources).utf8)
        out.append(contentsOf: "&utm_medium=".utf8)
        out.append(contentsOf: rng.pick(Self.mediums).utf8)
        out.append(contentsOf: "&utm_campaign=".utf8)
        out.append(contentsOf: rng.pick(Self.campaigns).utf8)
        out.append(contentsOf: #"","path":""#.utf8)
        out.append(contentsOf: path.utf8)
        out.append(contentsOf: #"","properties":{"#.utf8)
        // 3 to 6 distinct properties in random order: a partial Fisher–Yates shuffle.
        var keys = Array(0..<Self.propertyCount)
        let count = 3 + rng.below(4)
        for i in 0..<count {
            keys.swapAt(i, i + rng.below(Self.propertyCount - i))
            if i > 0 { out.append(UInt8(ascii: ",")) }
            appendProperty(keys[i], rng: &rng, to: &out)
        }
        out.append(contentsOf: "}}".utf8)
    }

    private func appendProperty(_ key: Int, rng: inout SplitMix64, to out: inout [UInt8]) {
        func string(_ name: String, _ value: String) {
            out.append(contentsOf: "\"\(name)\":\"".utf8)
            out.append(contentsOf: value.utf8)
            out.append(UInt8(ascii: "\""))
        }
        func number(_ name: String, _ write: (inout [UInt8]) -> Void) {
            out.append(contentsOf: "\"\(name)\":".utf8)
            write(&out)
        }
        switch key {
        case 0:
            out.append(contentsOf: #""product_id":"sku-"#.utf8)
            Self.decimal(UInt64(rng.below(100_000)), digits: 5, to: &out)
            out.append(UInt8(ascii: "\""))
        case 1: number("price") { Self.cents(300 + rng.below(39_701), to: &$0) }
        case 2: string("currency", rng.pick(["EUR", "USD", "GBP"]))
        case 3: number("quantity") { Self.decimal(UInt64(1 + rng.below(5)), digits: 1, to: &$0) }
        case 4: string("category", rng.pick(Self.categories))
        case 5: string("query", rng.pick(Self.queries))
        case 6: string("referrer", rng.pick(Self.referrers))
        case 7: string("plan", rng.pick(["free", "pro", "team"]))
        case 8: string("button", rng.pick(["buy_now", "add_to_cart", "subscribe", "learn_more"]))
        case 9: number("cart_value") { Self.cents(1_000 + rng.below(89_001), to: &$0) }
        case 10: number("items") { Self.decimal(UInt64(1 + rng.below(11)), digits: 1, to: &$0) }
        case 11:
            out.append(contentsOf: #""experiment":"exp_"#.utf8)
            Self.decimal(UInt64(rng.below(100)), digits: 1, to: &out)
            out.append(contentsOf: ":variant_".utf8)
            out.append(rng.pick([UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "c")]))
            out.append(UInt8(ascii: "\""))
        case 12: out.append(contentsOf: (rng.below(10) < 6 ? #""logged_in":true"# : #""logged_in":false"#).utf8)
        default: number("position") { Self.decimal(UInt64(1 + rng.below(39)), digits: 1, to: &$0) }
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// `value` as exactly `digits` lowercase hex digits.
    private static func hex(_ value: UInt64, digits: Int, to out: inout [UInt8]) {
        for shift in stride(from: (digits - 1) * 4, through: 0, by: -4) {
            out.append(hexDigits[Int((value >> UInt64(shift)) & 0xF)])
        }
    }

    /// `value` in decimal, zero-padded to at least `digits`.
    private static func decimal(_ value: UInt64, digits: Int, to out: inout [UInt8]) {
        var text = Array(String(value).utf8)
        if text.count < digits {
            text.insert(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits - text.count), at: 0)
        }
        out.append(contentsOf: text)
    }

    /// An amount of cents as JavaScript prints the number: 12.5, 12.05, 12 (no trailing zeros).
    private static func cents(_ cents: Int, to out: inout [UInt8]) {
        out.append(contentsOf: String(cents / 100).utf8)
        let fraction = cents % 100
        if fraction == 0 { return }
        out.append(UInt8(ascii: "."))
        out.append(UInt8(ascii: "0") + UInt8(fraction / 10))
        if fraction % 10 != 0 { out.append(UInt8(ascii: "0") + UInt8(fraction % 10)) }
    }
}
