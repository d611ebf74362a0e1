/// Always returns the same word. With `.max`, `random(in: 0...n)` draws `n`, the top of every
/// range. (Not `0`: the standard library's rejection sampling would then never finish.)
struct ConstantRandomNumberGenerator: RandomNumberGenerator {
    let value: UInt64

    mutating func next() -> UInt64 {
        value
    }
}
