/// Why the chaos run could not go on (a child did not start, the stand-in did not answer…).
struct ChaosError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
