/// Reads the bytes the listener wrote back as HTTP/1.x responses, strictly and independently of
/// NIO: a status line, `name: value` header lines, and a body of exactly `content-length` bytes
/// (none for a 1xx, nor for the answer to a HEAD request, which only announces its length).
/// nil when the bytes are not a sequence of such responses.
struct ResponseReader {
    struct Response {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: [UInt8]

        func header(_ name: String) -> [String] {
            headers.filter { $0.name.lowercased() == name }.map(\.value)
        }
    }

    /// `headRequests[k]`: whether the k-th request read was a HEAD (answers come in request order).
    static func responses(in bytes: [UInt8], headRequests: [Bool]) -> [Response]? {
        var finals = 0
        var index = 0
        var responses: [Response] = []
        while index < bytes.count {
            guard let headEnd = find([0x0D, 0x0A, 0x0D, 0x0A], in: bytes, from: index) else { return nil }
            let head = String(decoding: bytes[index..<headEnd], as: UTF8.self)
            var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
            let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard statusLine.count == 3, statusLine[0] == "HTTP/1.1" || statusLine[0] == "HTTP/1.0",
                statusLine[1].count == 3, let status = Int(statusLine[1]), (100...599).contains(status)
            else { return nil }
            var headers: [(name: String, value: String)] = []
            for line in lines {
                guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else { return nil }
                let name = String(line[..<colon])
                guard name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
                headers.append((name, String(line[line.index(after: colon)...]).trimmingCharacters(in: " ")))
            }
            index = headEnd + 4
            var response = Response(status: status, headers: headers, body: [])
            if status >= 200 {
                let lengths = response.header("content-length")
                guard lengths.count == 1, let length = Int(lengths[0]), length >= 0 else { return nil }
                guard response.header("transfer-encoding").isEmpty else { return nil }
                let bodiless = finals < headRequests.count && headRequests[finals]
                finals += 1
                if !bodiless {
                    guard index + length <= bytes.count else { return nil }
                    response.body = Array(bytes[index..<(index + length)])
                    index += length
                }
            }
            responses.append(response)
        }
        return responses
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        var index = start
        while index + needle.count <= bytes.count {
            if bytes[index] == needle[0] && bytes[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set || $0 == "\t" }.reversed().drop { $0 == set || $0 == "\t" }.reversed())
    }
}
