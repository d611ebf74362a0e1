import Foundation
import FuzzSupport
import NIOCore

@testable import MillimetricRelay

/// What must hold for any line, valid or not (SPEC §4–§5).
///
/// For an accepted line: the body is compact UTF-8 JSON without a raw control character (one
/// NDJSON line), parses with `JSONSerialization`, holds only the fields its kind forwards, and
/// its `event` and `event_id` are 1–128 UTF-16 code units and its `properties`/`traits` at most
/// 8,192 bytes, counted both on the canonical text and on what Foundation decodes. Validating
/// the body again gives the same body (the canonical form is a fixed point). For a refused line:
/// the code is one a validator may give. Either way the ack is exactly one JSON line.
/// Cross-check with an independent recogniser (``StrictJSON``): `invalid_json` exactly for
/// lines that are not JSON.
enum IngestInvariants {
    static let stamp = Array("2026-11-22T10:00:00.000Z".utf8)
    // One validator for every input, as a connection keeps one for all its lines: the fuzzer
    // also checks that nothing of one line leaks into the next. Single-threaded harness.
    nonisolated(unsafe) static var validator = EventValidator()
    /// Refusals whose ack was already checked: their messages, one set per code.
    nonisolated(unsafe) static var checkedRefusals: [IngestErrorCode: Set<String>] = [:]

    static func checkLine(_ line: UnsafeRawBufferPointer) {
        switch validator.validate(line, receivedTimestamp: stamp) {
        case .success(let event):
            checkAccepted(event, line: line)
        case .failure(let rejection):
            checkRejected(rejection, line: line)
        }
    }

    static func checkAccepted(_ event: ValidatedEvent, line: UnsafeRawBufferPointer) {
        require(StrictJSON.isValid(line) != false, "accepted a line that is not JSON", line)
        let body = event.body
        require(String(validating: body, as: UTF8.self) != nil, "the body is not UTF-8", line)
        require(!body.contains(where: { $0 < 0x20 }), "the body has a raw control character", line)
        require(body.first == UInt8(ascii: "{") && body.last == UInt8(ascii: "}"), "the body is not an object", line)

        // The canonical text, member by member, read with the relay's own transcoder.
        let members = CanonicalObject.members(of: body)
        require(members != nil, "the body does not re-parse with the transcoder", line)
        let allowed: Set<String>
        switch event.kind {
        case .track:
            allowed = ["event", "event_id", "timestamp", "anonymous_id", "user_id", "session_id", "url", "path", "referrer", "properties"]
        case .identify:
            allowed = ["anonymous_id", "user_id", "traits"]
        case .forget:
            allowed = ["user_id"]
        }
        var seen = Set<String>()
        for member in members! {
            require(allowed.contains(member.key), "the body carries \(member.key) for \(event.kind)", line)
            require(seen.insert(member.key).inserted, "the body repeats \(member.key)", line)
            switch member.key {
            case "event", "event_id":
                guard case .string(let length) = member.kind else { fail("\(member.key) is not a string", line) }
                require((1...EventValidator.maximumNameLength).contains(length), "\(member.key) has \(length) UTF-16 units", line)
            case "properties", "traits":
                require(member.kind == .object, "\(member.key) is not an object", line)
                require(member.value.count <= EventValidator.maximumObjectBytes, "\(member.key) has \(member.value.count) bytes", line)
            case "timestamp":
                guard case .string = member.kind else { fail("timestamp is not a string", line) }
            case "anonymous_id", "user_id", "session_id", "url", "path", "referrer":
                guard case .string = member.kind else { fail("\(member.key) is not a string", line) }
            default:
                break
            }
        }
        switch event.kind {
        case .track:
            require(seen.isSuperset(of: ["event", "event_id", "timestamp"]), "a track body lacks event, event_id or timestamp", line)
            let idMember = members!.first { $0.key == "event_id" }!
            require(idMember.value == event.eventIDLiteral, "the ack's event_id differs from the body's", line)
        case .identify:
            require(seen.isSuperset(of: ["anonymous_id", "user_id"]), "an identify body lacks a required field", line)
        case .forget:
            require(seen == ["user_id"], "a forget body is not just user_id", line)
        }

        // Foundation's view of the same body: same lengths in UTF-16 units.
        if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] {
            for key in ["event", "event_id"] {
                if let text = object[key] as? String {
                    require((1...EventValidator.maximumNameLength).contains(text.utf16.count), "Foundation counts \(text.utf16.count) UTF-16 units in \(key)", line)
                }
            }
            if event.kind != .track {
                require(object["user_id"] is String, "Foundation finds no user_id", line)
            }
        } else {
            // Foundation refuses lone surrogates (`\udxxx` without its pair), which JSON.parse,
            // the API's parser, accepts; nothing else may make the body unreadable.
            require(LoneSurrogates.escaped(in: body), "JSONSerialization cannot parse the body", line)
        }

        // A fixed point: the body, validated again as its kind, comes back unchanged.
        var again = body
        if event.kind != .track {
            again = Array("{\"type\":\"\(event.kind)\",".utf8) + body.dropFirst()
        }
        let second = again.withUnsafeBytes { validator.validate($0, receivedTimestamp: Array("1999-01-01T00:00:00.000Z".utf8)) }
        guard case .success(let revalidated) = second else { fail("the body is refused when sent again: \(second)", line) }
        require(revalidated.kind == event.kind, "the body changes kind when sent again", line)
        require(revalidated.body == body, "the body is not canonical: \(String(decoding: revalidated.body, as: UTF8.self))", line)
        require(revalidated.warnings.isEmpty, "the body draws warnings when sent again", line)
        if event.kind == .track {
            require(revalidated.eventIDLiteral == event.eventIDLiteral, "the event id changes when sent again", line)
        }

        // The ack: one line of JSON naming the same event id and each warning.
        var buffer = ByteBuffer()
        AckEncoder.writeStored([event], at: 0, purged: event.kind == .forget ? 0 : nil, to: &buffer)
        if let ack = checkAckLine(buffer, line: line) {
            require(ack["ok"] as? Bool == true, "a stored ack without ok:true", line)
            require(ack["event_id"] as? String == event.eventID, "the ack's event_id is not the stored one", line)
            require(((ack["warnings"] as? [Any])?.count ?? 0) == event.warnings.count, "the ack lost a warning", line)
        }
    }

    static func checkRejected(_ rejection: IngestRejection, line: UnsafeRawBufferPointer) {
        require(rejection.code == .invalidJSON || rejection.code == .invalidPayload, "the validator answered \(rejection.code)", line)
        require(!rejection.message.isEmpty, "a refusal without a message", line)
        // The ack depends on the refusal alone: check each distinct one once (most inputs are
        // refused with one of a few hundred messages, and decoding the ack dominated the time).
        if checkedRefusals[rejection.code, default: []].insert(rejection.message).inserted {
            if checkedRefusals[rejection.code]!.count > 100_000 { checkedRefusals[rejection.code] = [] }
            var buffer = ByteBuffer()
            AckEncoder.writeRejected(rejection, to: &buffer)
            if let ack = checkAckLine(buffer, line: line) {
                require(ack["ok"] as? Bool == false, "a refusal without ok:false", line)
                require(ack["error"] as? String == rejection.code.rawValue, "the ack's code is not the refusal's", line)
                require(ack["message"] as? String == rejection.message, "the ack's message is mangled", line)
            }
        }

        // The independent recogniser agrees on what is JSON. Nesting past 64 levels is refused
        // as invalid_payload as soon as it is seen, even if the text turns out broken later.
        let isJSON = StrictJSON.isValid(line)
        if rejection.code == .invalidJSON && isJSON == true {
            fail("invalid_json for a line that is JSON: \(rejection.message)", line)
        }
        if rejection.code == .invalidPayload && isJSON == false && !rejection.message.contains("nested deeper") {
            fail("invalid_payload for a line that is not JSON: \(rejection.message)", line)
        }
    }

    /// Checks that `buffer` is one JSON object and one `\n`, and returns the object (nil when
    /// only Foundation's refusal of lone surrogates keeps it from reading it).
    static func checkAckLine(_ buffer: ByteBuffer, line: UnsafeRawBufferPointer) -> [String: Any]? {
        let bytes = Array(buffer.readableBytesView)
        require(bytes.last == 0x0A, "an ack without its line end", line)
        require(bytes.dropLast().allSatisfy { $0 >= 0x20 }, "an ack with a raw control character (it would split the line)", line)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes.dropLast())) as? [String: Any] else {
            // Only a lone surrogate, echoed from the client's own event_id or key, may stop
            // Foundation here; JSON.parse reads it.
            require(LoneSurrogates.escaped(in: bytes), "the ack is not JSON: \(String(decoding: bytes, as: UTF8.self))", line)
            require(StrictJSON.isValid(Array(bytes.dropLast())) == true, "the ack is not JSON: \(String(decoding: bytes, as: UTF8.self))", line)
            return nil
        }
        return object
    }

    static func require(_ condition: @autoclosure () -> Bool, _ what: @autoclosure () -> String, _ line: UnsafeRawBufferPointer) {
        Invariant.require(condition(), what(), input: line, named: "line", shown: 300)
    }

    static func fail(_ what: String, _ line: UnsafeRawBufferPointer) -> Never {
        Invariant.fail(what, input: line, named: "line", shown: 300)
    }
}
