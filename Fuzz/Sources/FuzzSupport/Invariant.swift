/// How a harness reports a broken invariant: a `fatalError` naming what broke, which libFuzzer
/// reports as a crash and saves the input of as `crash-<sha1>` (reproduce it by running the
/// target's executable with that file as its only argument).
public enum Invariant {
    /// Fails unless `condition` holds; `what` is only built when it does not.
    @inlinable
    public static func require(_ condition: Bool, _ what: @autoclosure () -> String) {
        if !condition { fail(what()) }
    }

    public static func fail(_ what: String) -> Never {
        fatalError("invariant broken: \(what)")
    }

    /// Fails unless `condition` holds, showing the first `shown` bytes of the input it broke on.
    public static func require(
        _ condition: @autoclosure () -> Bool, _ what: @autoclosure () -> String, input: UnsafeRawBufferPointer, named name: String, shown: Int
    ) {
        if !condition() { fail(what(), input: input, named: name, shown: shown) }
    }

    public static func fail(_ what: String, input: UnsafeRawBufferPointer, named name: String, shown: Int) -> Never {
        let text = String(decoding: input.prefix(shown), as: UTF8.self).debugDescription
        fatalError("invariant broken: \(what)\n  \(name) (\(input.count) bytes): \(text)")
    }
}
