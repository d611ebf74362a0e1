/// libFuzzer calls this once per input (through `LLVMFuzzerRunDriver`, see CFuzzerDriver).
///
/// Every input goes through the same checks: as one line into the validator, and as a byte
/// stream (cut into chunks at input-derived places) through the line framer, whose lines are
/// validated in turn. A broken invariant is a `fatalError`, which libFuzzer reports as a crash
/// and saves as `crash-<sha1>`: reproduce it with `.build-fuzz/release/FuzzIngest crash-<sha1>`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    IngestInvariants.checkLine(bytes)
    FramerInvariants.checkStream(bytes)
    return 0
}
