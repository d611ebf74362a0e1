/// Why a line is not JSON the API would parse: answered as `invalid_json`, or as
/// `invalid_payload` for valid JSON the relay will not carry (nesting too deep).
struct JSONSyntaxError: Error, Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        /// Not UTF-8.
        case invalidUTF8
        /// Not JSON.
        case syntax
        /// Valid JSON nested deeper than the relay carries.
        case tooDeep
    }

    let kind: Kind
    /// What is wrong and where, for the ack's `message`.
    let message: String

    static func syntax(_ message: String, at offset: Int) -> JSONSyntaxError {
        JSONSyntaxError(kind: .syntax, message: "\(message) at byte \(offset)")
    }

    static func invalidUTF8(at offset: Int) -> JSONSyntaxError {
        JSONSyntaxError(kind: .invalidUTF8, message: "the line is not valid UTF-8 (byte \(offset))")
    }
}
