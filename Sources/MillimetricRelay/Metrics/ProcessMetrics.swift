import Metrics
import Synchronization

/// The standard `process_*` metrics and `millimetric_relay_build_info`, refreshed from
/// ``ProcessStatistics`` just before each scrape: /proc is read only when someone asks.
final class ProcessMetrics: Sendable {
    private let residentMemory: Gauge
    private let virtualMemory: Gauge
    private let cpuSeconds: FloatingPointCounter
    private let openFileDescriptors: Gauge
    private let maximumFileDescriptors: Gauge
    private let startTime: Gauge
    private let buildInfo: Gauge
    /// The CPU time already added to `cpuSeconds`: a counter only goes up, by the difference.
    private let cpuSecondsCounted = Mutex(0.0)

    init(version: String = RelayVersion.current, factory: any MetricsFactory = MetricsSystem.factory) {
        residentMemory = Gauge(label: MetricFamily.processResidentMemory.name, factory: factory)
        virtualMemory = Gauge(label: MetricFamily.processVirtualMemory.name, factory: factory)
        cpuSeconds = FloatingPointCounter(label: MetricFamily.processCPU.name, factory: factory)
        openFileDescriptors = Gauge(label: MetricFamily.processOpenFDs.name, factory: factory)
        maximumFileDescriptors = Gauge(label: MetricFamily.processMaximumFDs.name, factory: factory)
        startTime = Gauge(label: MetricFamily.processStartTime.name, factory: factory)
        buildInfo = Gauge(label: MetricFamily.buildInfo.name, dimensions: [("version", version)], factory: factory)
        buildInfo.record(1)
    }

    /// Records `statistics` (by default, this process's, read now).
    func refresh(_ statistics: ProcessStatistics? = ProcessStatistics.current()) {
        guard let statistics else { return }
        residentMemory.record(statistics.residentMemoryBytes)
        virtualMemory.record(statistics.virtualMemoryBytes)
        startTime.record(statistics.startTimeSeconds)
        if let open = statistics.openFileDescriptors { openFileDescriptors.record(open) }
        if let maximum = statistics.maximumFileDescriptors { maximumFileDescriptors.record(maximum) }
        cpuSecondsCounted.withLock { counted in
            let added = statistics.cpuSeconds - counted
            if added > 0 {
                cpuSeconds.increment(by: added)
                counted = statistics.cpuSeconds
            }
        }
    }
}
