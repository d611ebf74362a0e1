import Foundation

/// Reads typed values out of what `JSONSerialization` parsed.
///
/// `JSONSerialization` hands back `NSNumber` for both numbers and booleans, and on Linux a Swift
/// cast lets `1` pass as `true` and `true` pass as `1`. A test oracle must not be that lenient
/// (a relay that sent `"down": 1` or `"latency_ms": true` has a bug), so these helpers tell the
/// two apart by the number's Objective-C type code: `c` is what Foundation uses for booleans.
enum JSONInput {
    /// The value as a Bool, only if JSON had `true` or `false` there.
    static func bool(_ value: Any) -> Bool? {
        guard let number = value as? NSNumber, isBoolean(number) else { return nil }
        return number.boolValue
    }

    /// The value as an Int, only if JSON had an integral number (not a boolean) there.
    static func int(_ value: Any) -> Int? {
        guard let number = value as? NSNumber, !isBoolean(number) else { return nil }
        return value as? Int
    }

    /// Whether JSON had `null` there.
    static func isNull(_ value: Any) -> Bool {
        value is NSNull
    }

    private static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }
}
