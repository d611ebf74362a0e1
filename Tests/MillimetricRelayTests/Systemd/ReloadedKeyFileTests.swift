import Foundation
import MillimetricRelay
import Testing

/// The key `systemctl reload` hands over through the runtime directory (systemd 252 does not
/// refresh the credential of a running service).
@Suite struct ReloadedKeyFileTests {
    let directory: URL
    var path: String { directory.appendingPathComponent(ReloadedKeyFile.fileName).path }
    var environment: [String: String] { ["RUNTIME_DIRECTORY": directory.path] }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("reload-key-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func write(_ text: String, mode: Int) throws {
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    @Test func aPrivateKeyFileIsTakenOnce() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try write("sk_test_new_key_0009\n", mode: 0o400)
        let key = try #require(try ReloadedKeyFile.take(environment: environment))
        #expect(key.description.hasSuffix("0009"))
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try ReloadedKeyFile.take(environment: environment) == nil)
    }

    @Test func withoutAFileOrARuntimeDirectoryThereIsNoKey() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try ReloadedKeyFile.take(environment: environment) == nil)
        #expect(try ReloadedKeyFile.take(environment: [:]) == nil)
    }

    @Test func aFileOthersCanReadIsRefusedAndDeleted() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try write("sk_test_new_key_0009\n", mode: 0o644)
        #expect(throws: ConfigurationError.self) { try ReloadedKeyFile.take(environment: environment) }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func aSymlinkIsRefusedAndRemoved() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let target = directory.appendingPathComponent("elsewhere").path
        try "sk_test_new_key_0009\n".write(toFile: target, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: target)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
        #expect(throws: ConfigurationError.self) { try ReloadedKeyFile.take(environment: environment) }
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) == nil)
        #expect(FileManager.default.fileExists(atPath: target))
    }

    @Test func aMalformedKeyIsRefusedAndDeleted() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try write("pk_test_browser_key_1\n", mode: 0o400)
        #expect(throws: ConfigurationError.self) { try ReloadedKeyFile.take(environment: environment) }
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
