import FoundationEssentials
import Logging
import ServiceLifecycle
import SystemdSupport
import UnixSignals

/// SIGHUP (`systemctl reload`): reloads the API key and resumes a paused delivery at once
/// (SPEC §6, §8), bracketed by `RELOADING=1` … `READY=1` for systemd.
///
/// Settings that shape the socket or the outbox (paths, caps) are read at start only; a reload
/// that changes them logs that a restart is needed rather than half-applying them.
struct ReloadService: Service {
    let daemon: RelayDaemon
    let drainer: Drainer
    /// The HTTP listener, whose accepted key follows the reloaded one.
    var http: HTTPIngestServer?
    let logger: Logger
    let notifier = SystemdNotifier()

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            _ = try? notifier.send([.reloading, .status("reloading configuration and key")])
            do {
                let fresh = try RelayConfiguration.resolve(configFile: daemon.configFile, flags: daemon.flags)
                // The key ExecReload= handed over stands for the credential, which systemd 252 does
                // not refresh; an explicit --key-file still wins, as it does at start.
                let handedOver = try ReloadedKeyFile.take()
                let key = try (daemon.keyFileFlag == nil ? handedOver : nil)
                    ?? RelayConfiguration.loadKey(keyFileFlag: daemon.keyFileFlag, configuration: fresh)
                if fresh != daemon.configuration {
                    logger.notice("the configuration changed; settings other than the key take effect at the next restart")
                }
                drainer.reload(key: key)
                http?.reload(key: key)
                logger.info("reloaded", metadata: ["upstream.key": "\(key)"])
            } catch {
                // Keep running with what worked; a bad reload must not take delivery down.
                logger.error("reload failed; keeping the previous key and configuration", metadata: ["config.error": "\(error)"])
                drainer.reload(key: nil)
            }
            _ = try? notifier.send([.ready])
        }
    }
}
