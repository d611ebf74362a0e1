import Foundation
import RelayTestKit

/// The relay's HTTP listener (`http_listen`) as tests reach it: the port it bound (tests ask for
/// port 0 and read the real one from the log) and clients run as separate programs (curl, node),
/// exactly as applications call it.
extension RelayProcess {
    /// A relay with the HTTP listener on a free loopback port.
    static func withHTTP(host: String, environment: [String: String] = [:]) throws -> RelayProcess {
        var env = ["MILLIMETRIC_RELAY_HTTP_LISTEN": "127.0.0.1:0"]
        env.merge(environment) { $1 }
        return try RelayProcess(host: host, environment: env)
    }

    /// The port of the current generation's HTTP listener, from its "serving the API's HTTP" log line.
    func httpPort() throws -> Int {
        var port: Int?
        _ = Self.eventually(timeout: .seconds(20)) {
            let log = output(ofGeneration: generation)
            guard let range = log.range(of: #"http\.listen=\"?127\.0\.0\.1:[0-9]+"#, options: .regularExpression) else { return false }
            port = Int(log[range].split(separator: ":").last!)
            return true
        }
        guard let port else { throw RelayFailure("no HTTP listener in the log:\n\(output(ofGeneration: generation))") }
        return port
    }

    /// `http://127.0.0.1:PORT`, what an app sets as `MILLIMETRIC_HOST`.
    func httpBase() throws -> String { "http://127.0.0.1:\(try httpPort())" }

    /// Runs `script` with bash, `MILLIMETRIC_HOST` pointing at the relay and `MILLIMETRIC_KEY`
    /// set; returns the exit status and stdout+stderr.
    func bash(_ script: String, key: String = StandInProcess.secretKey, environment: [String: String] = [:]) throws -> (Int32, String) {
        var env = ["PATH": "/usr/bin:/bin", "MILLIMETRIC_HOST": try httpBase(), "MILLIMETRIC_KEY": key]
        env.merge(environment) { $1 }
        return try Self.runCLIProcess("/bin/bash", ["-c", script], environment: env)
    }

    /// One request with curl: the status and the body as an object (or the raw body).
    struct HTTPAnswer {
        var status: Int
        var body: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:] }
        var error: String? { json["error"] as? String }
    }

    /// `curl -X METHOD $MILLIMETRIC_HOST/PATH` with `arguments` (headers, data), the key in
    /// `Authorization: Bearer` unless `key` is nil.
    func curl(_ method: String, _ path: String, key: String? = StandInProcess.secretKey, _ arguments: [String] = []) throws -> HTTPAnswer {
        var args = ["-sS", "-o", "-", "-w", "\n%{http_code}", "-X", method, "\(try httpBase())\(path)", "-H", "Content-Type: application/json"]
        if let key { args += ["-H", "Authorization: Bearer \(key)"] }
        args += arguments
        let (code, output) = try Self.runCLIProcess("/usr/bin/curl", args)
        guard code == 0, let newline = output.lastIndex(of: "\n"), let status = Int(output[output.index(after: newline)...]) else {
            throw RelayFailure("curl failed (\(code)): \(output)")
        }
        return HTTPAnswer(status: status, body: String(output[..<newline]))
    }

    /// Runs a Node.js script (Debian's `node`) with `arguments`; returns status and output.
    static func node(_ script: String, _ arguments: [String] = [], environment: [String: String] = [:]) throws -> (Int32, String) {
        var env = ["PATH": "/usr/bin:/bin"]
        env.merge(environment) { $1 }
        return try runCLIProcess("/usr/bin/node", ["-e", script, "--"] + arguments, environment: env)
    }
}
