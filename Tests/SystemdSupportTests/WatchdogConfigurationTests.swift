import Glibc
import Testing

@testable import SystemdSupport

extension ProcessStateTests {
    @Suite
    struct WatchdogConfigurationTests {
        @Test
        func noWatchdogUsecMeansNoWatchdog() throws {
            try withEnvironment(["WATCHDOG_USEC": nil, "WATCHDOG_PID": nil]) { () throws -> Void in
                #expect(try WatchdogConfiguration.fromEnvironment() == nil)
            }
        }

        @Test
        func watchdogForThisProcessGivesTheIntervalAndHalfOfItAsPingInterval() throws {
            try withEnvironment(["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "\(getpid())"]) { () throws -> Void in
                let watchdog = try #require(try WatchdogConfiguration.fromEnvironment())
                #expect(watchdog.interval == .seconds(30))
                #expect(watchdog.pingInterval == .seconds(15))
            }
        }

        @Test
        func watchdogWithoutPidAppliesToThisProcess() throws {
            try withEnvironment(["WATCHDOG_USEC": "1500", "WATCHDOG_PID": nil]) { () throws -> Void in
                let watchdog = try #require(try WatchdogConfiguration.fromEnvironment())
                #expect(watchdog.interval == .microseconds(1500))
                #expect(watchdog.pingInterval == .microseconds(750))
            }
        }

        @Test
        func watchdogForAnotherProcessIsIgnored() throws {
            // PID 1 is never this test process (in a container, the tests do not run as init).
            let other = getpid() == 1 ? getppid() : 1
            try withEnvironment(["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "\(other)"]) { () throws -> Void in
                #expect(try WatchdogConfiguration.fromEnvironment() == nil)
            }
        }

        @Test(arguments: ["soon", "0", "-5", "18446744073709551615"])
        func aMalformedWatchdogUsecThrows(value: String) throws {
            try withEnvironment(["WATCHDOG_USEC": value, "WATCHDOG_PID": nil]) { () throws -> Void in
                let error = try #require(throws: SystemdError.self) { try WatchdogConfiguration.fromEnvironment() }
                #expect(error.code == .invalidWatchdogEnvironment)
            }
        }

        @Test
        func theEnvironmentIsKeptByDefaultAndRemovedOnRequest() throws {
            try withEnvironment(["WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "\(getpid())"]) { () throws -> Void in
                #expect(try WatchdogConfiguration.fromEnvironment() != nil)
                #expect(environmentValue("WATCHDOG_USEC") == "2000000")

                #expect(try WatchdogConfiguration.fromEnvironment(unsetEnvironment: true) != nil)
                #expect(environmentValue("WATCHDOG_USEC") == nil)
                #expect(environmentValue("WATCHDOG_PID") == nil)
                #expect(try WatchdogConfiguration.fromEnvironment() == nil)
            }
        }
    }
}
