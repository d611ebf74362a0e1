/// libFuzzer calls this once per input (through `LLVMFuzzerRunDriver`, see CFuzzerDriver): the
/// input is a `Retry-After` header value, as the drainer receives it from the API (SPEC §6).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    RetryAfterInvariants.check(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
