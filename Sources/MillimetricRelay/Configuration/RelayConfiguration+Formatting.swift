/// Prints a setting back in the form a config file or `MILLIMETRIC_RELAY_<KEY>` takes.
///
/// The promise, checked by the configuration fuzzer (Fuzz/): for any value `set(_:_:source:)`
/// accepts, setting `value(for:)` again leaves the configuration unchanged, so what the relay
/// prints about its settings can be pasted back as they are.
extension RelayConfiguration {
    /// The value of `key`, spelled canonically (`1GiB`, `250ms`, `0660`, `0, 998`).
    public func value(for key: Key) -> String {
        switch key {
        case .socketPath: socketPath
        case .socketMode: "0" + String(socketMode, radix: 8)
        case .stateDir: stateDirectory
        case .host: host
        case .keyFile: keyFile ?? ""
        case .caFile: caFile ?? ""
        case .proxy: proxy ?? ""
        case .synchronous: synchronous.rawValue
        case .maxOutboxBytes: ValueParsing.formatBytes(maxOutboxBytes)
        case .maxLineBytes: ValueParsing.formatBytes(Int64(maxLineBytes))
        case .maxConnections: String(maxConnections)
        case .flushInterval: ValueParsing.formatDuration(flushInterval)
        case .requestTimeout: ValueParsing.formatDuration(requestTimeout)
        case .stopTimeout: ValueParsing.formatDuration(stopTimeout)
        case .batchRate: batchRate.description
        case .trackRate: trackRate.description
        case .batchBurst: String(batchBurst)
        case .trackBurst: String(trackBurst)
        case .maxInFlight: String(maxInFlight)
        case .forgetAllowedUIDs:
            switch forgetPolicy.allowed {
            case .everyone: "*"
            case .uids(let uids): uids.sorted().map(String.init).joined(separator: ", ")
            }
        case .metricsListen: metricsListen ?? "off"
        case .httpListen: httpListen?.description ?? "off"
        case .httpRequestTimeout: ValueParsing.formatDuration(httpRequestTimeout)
        case .logLevel: logLevel
        }
    }
}
