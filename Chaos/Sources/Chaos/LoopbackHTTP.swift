import Foundation

/// A plain, blocking HTTP/1.1 client for the stand-in's admin endpoints on 127.0.0.1: one
/// request per connection, answers read by `Content-Length`.
enum LoopbackHTTP {
    struct Response {
        let status: Int
        let body: [UInt8]

        func object() throws(ChaosError) -> [String: Any] {
            guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
                throw ChaosError("the stand-in answered \(status) with something that is not a JSON object")
            }
            return object
        }
    }

    static func request(port: Int, _ method: String, _ path: String, json: [String: Any]? = nil, timeoutSeconds: Int = 15) throws(ChaosError) -> Response {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw ChaosError("socket() failed: errno \(errno)") }
        defer { close(descriptor) }
        var time = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw ChaosError("cannot connect to the stand-in on 127.0.0.1:\(port): errno \(errno)") }

        var body: [UInt8] = []
        if let json {
            guard let data = try? JSONSerialization.data(withJSONObject: json) else { throw ChaosError("cannot encode \(json)") }
            body = Array(data)
        }
        var request = Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n".utf8)
        if json != nil { request += Array("Content-Type: application/json\r\n".utf8) }
        request += Array("Content-Length: \(body.count)\r\n\r\n".utf8) + body
        var offset = 0
        while offset < request.count {
            let written = request[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ChaosError("writing to the stand-in failed: errno \(errno)")
            }
            offset += written
        }

        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        var headerEnd: Int?
        var contentLength: Int?
        var status = 0
        while true {
            if headerEnd == nil, let end = find([13, 10, 13, 10], in: received) {
                headerEnd = end + 4
                let head = String(decoding: received[..<end], as: UTF8.self).split(separator: "\r\n")
                let statusLine = head.first?.split(separator: " ") ?? []
                status = statusLine.count > 1 ? Int(statusLine[1]) ?? 0 : 0
                for line in head.dropFirst() {
                    let parts = line.split(separator: ":", maxSplits: 1)
                    if parts.count == 2, parts[0].lowercased() == "content-length" {
                        contentLength = Int(parts[1].trimmingCharacters(in: .whitespaces))
                    }
                }
            }
            if let headerEnd, let contentLength, received.count - headerEnd >= contentLength {
                return Response(status: status, body: Array(received[headerEnd..<(headerEnd + contentLength)]))
            }
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { throw ChaosError("reading from the stand-in failed: errno \(errno)") }
            if count == 0 {
                guard let headerEnd else { throw ChaosError("the stand-in closed the connection without an answer to \(method) \(path)") }
                return Response(status: status, body: Array(received[headerEnd...]))
            }
            received += chunk[0..<count]
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for index in 0...(haystack.count - needle.count) where haystack[index..<(index + needle.count)].elementsEqual(needle) {
            return index
        }
        return nil
    }
}
