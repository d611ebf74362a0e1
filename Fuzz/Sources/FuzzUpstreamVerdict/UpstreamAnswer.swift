import CurlSupport
import Foundation
import FuzzSupport
import MillimetricRelay

/// An answer of the API and the request it belongs to, read from a fuzz input:
///
///     status (2 bytes, taken modulo 1000) · request (1 byte: 0 identify, 1 forget, else a batch
///     of n − 2 events) · Retry-After (length byte + bytes, absent when the length is 255) · body
///
/// The body is what libcurl handed over: the start of the response, at most
/// `maxResponseBodyBytes` long.
struct UpstreamAnswer {
    let response: HTTPResponse
    let request: UpstreamVerdict.Request

    init(_ bytes: UnsafeRawBufferPointer) {
        var input = FuzzInput(bytes)
        let status = Int(input.uint16() % 1000)
        switch input.byte() {
        case 0: request = .identify
        case 1: request = .forget
        case let count: request = .batch(eventCount: Int(count) - 2)
        }
        let retryAfterField = input.lengthPrefixed()
        let retryAfter = retryAfterField.count == 255 ? nil : String(decoding: retryAfterField, as: UTF8.self)
        response = HTTPResponse(status: status, headers: .init(retryAfter: retryAfter, contentType: "application/json"), body: input.rest())
    }
}
