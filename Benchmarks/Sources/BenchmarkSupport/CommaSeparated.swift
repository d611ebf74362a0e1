import ArgumentParser
import Foundation

/// An option value that is a comma-separated list (`--clients 1,4`, `--parts unlimited,limited`):
/// the benchmarks run one case per element. Each element parses as the option's own type, so a
/// misspelt mode or a non-number is refused by the parser, not found later.
public struct CommaSeparated<Element: ExpressibleByArgument & Sendable>: ExpressibleByArgument, Sendable {
    public var values: [Element]

    public init(_ values: [Element]) {
        self.values = values
    }

    /// Nil (refused) for an empty list or an element that does not parse.
    public init?(argument: String) {
        var values: [Element] = []
        for part in argument.split(separator: ",") {
            guard let value = Element(argument: part.trimmingCharacters(in: .whitespaces)) else { return nil }
            values.append(value)
        }
        if values.isEmpty { return nil }
        self.values = values
    }

    public var defaultValueDescription: String {
        values.map(\.defaultValueDescription).joined(separator: ",")
    }
}
