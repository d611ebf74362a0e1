import Foundation

/// Reads typed values out of what `JSONSerialization` parsed.
///
/// Two pitfalls make this more than a cast:
/// - `JSONSerialization` hands back `NSNumber` for both numbers and booleans, and on Linux a
///   Swift cast lets `1` pass as `true` and `true` pass as `1`. A test oracle must not be that
///   lenient (`"down": 1` or `"latency_ms": true` is a caller's bug), so booleans are told apart
///   by the number's Objective-C type code: `c` is what Foundation uses for them.
/// - Casting an `Any` to a class (`value is NSNull`, `value as? NSNumber`) makes the runtime
///   bridge a Swift array, dictionary or string to its Foundation class to answer, which for a
///   500-event batch costs more than parsing it. So the checks look at the dynamic type first.
enum JSONInput {
    /// The value as a Bool, only if JSON had `true` or `false` there.
    static func bool(_ value: Any) -> Bool? {
        guard let number = self.number(value), self.isBoolean(number) else { return nil }
        return number.boolValue
    }

    /// The value as an Int, only if JSON had an integral number (not a boolean) there.
    static func int(_ value: Any) -> Int? {
        guard let number = self.number(value), !self.isBoolean(number) else { return nil }
        return value as? Int
    }

    /// Whether JSON had `null` there.
    static func isNull(_ value: Any) -> Bool {
        ObjectIdentifier(type(of: value)) == ObjectIdentifier(NSNull.self)
    }

    private static func number(_ value: Any) -> NSNumber? {
        guard type(of: value) is NSNumber.Type else { return nil }
        return value as? NSNumber
    }

    private static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }
}
