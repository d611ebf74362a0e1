import FoundationEssentials
import Glibc

/// Where `import` stands in one input: the last line the relay acknowledged, and the digest of
/// the input through that line (``ImportEventID``), so that a re-run can skip what is stored
/// and notice when the input is no longer the same. Written next to the file (or where
/// `--progress` says) by write-then-rename, so a crash leaves the old or the new version.
/// Not fsync'd: losing it only means re-sending lines whose ids are deterministic.
struct ImportProgressFile: Codable, Equatable {
    /// The input as named on the command line.
    var source: String
    /// The last acknowledged line (1-based); 0 before the first.
    var line: Int
    /// Hex SHA-1 of the input through the end of `line`.
    var digest: String
    /// Bytes of (decompressed) input through the end of `line`.
    var bytes: Int64
    /// Whether the whole input was read and acknowledged.
    var complete: Bool

    static func defaultPath(for input: String) -> String? {
        input == "-" ? nil : input + ".import-progress"
    }

    static func load(path: String) -> ImportProgressFile? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(ImportProgressFile.self, from: data)
    }

    func save(path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var data = try encoder.encode(self)
        data.append(0x0A)
        let temporary = path + ".tmp"
        try data.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else {
            throw ImportFailure.progress("cannot write the progress file \(path): \(String(cString: strerror(errno)))")
        }
    }

    static func remove(path: String) {
        unlink(path)
    }
}

/// Why an import stopped short.
enum ImportFailure: Error, CustomStringConvertible {
    case progress(String)
    var description: String {
        switch self {
        case .progress(let message): message
        }
    }
}

extension Array where Element == UInt8 {
    var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(count * 2)
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
