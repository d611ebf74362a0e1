import Foundation

/// Writes one line to stdout at once (unbuffered), so CI logs show progress as it happens.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
