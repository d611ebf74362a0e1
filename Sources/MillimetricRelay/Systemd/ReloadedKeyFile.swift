import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// The API key handed over by `systemctl reload`, because systemd 252 does not refresh
/// credentials on reload.
///
/// The key reaches the daemon through `LoadCredential=`: systemd copies the root-only
/// `/etc/millimetric-relay/key` into `$CREDENTIALS_DIRECTORY` when the service starts, and that
/// copy never changes while it runs (credential refresh on reload only arrived in systemd 259).
/// So a new key written to `/etc` and a `systemctl reload` used to reload the *old* key (found by
/// `.ci/real-systemd.sh`). The unit's `ExecReload=` therefore runs as root (`+`), copies the key
/// to `$RUNTIME_DIRECTORY/key.reload`, owned by the service user and mode 0400, and sends SIGHUP;
/// the daemon takes that file (reads and deletes it) in place of the stale credential.
///
/// The file is trusted only if it is a regular file (not a symlink) owned by the daemon's own
/// user and readable by nobody else; anything else is deleted and refused.
public enum ReloadedKeyFile {
    /// The file name inside `$RUNTIME_DIRECTORY`, as the unit's `ExecReload=` writes it.
    public static let fileName = "key.reload"

    /// The handed-over key, or `nil` when there is none (a plain SIGHUP, or no runtime
    /// directory). The file is deleted whether or not it holds a valid key.
    public static func take(environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> APIKey? {
        guard let directory = environment["RUNTIME_DIRECTORY"], !directory.isEmpty else { return nil }
        // RUNTIME_DIRECTORY may list several directories separated by ':'; ours is the first.
        let path = String(directory.split(separator: ":").first ?? "").appendingPathComponent(fileName)
        var status = stat()
        guard lstat(path, &status) == 0 else { return nil }
        defer { unlink(path) }
        guard (status.st_mode & S_IFMT) == S_IFREG, status.st_uid == geteuid(), status.st_mode & 0o077 == 0 else {
            throw ConfigurationError("refusing \(path): it must be a regular file owned by this user with mode 0400 (written by the unit's ExecReload=)")
        }
        return try APIKey(readingFile: path, what: "the reloaded API key \(path)", source: "systemctl reload (\(path))")
    }
}
