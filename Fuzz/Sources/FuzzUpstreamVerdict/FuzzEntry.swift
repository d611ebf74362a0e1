/// libFuzzer calls this once per input (through `LLVMFuzzerRunDriver`, see CFuzzerDriver): the
/// input is one answer of the Millimetric API, as ``UpstreamAnswer`` lays it out.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    VerdictInvariants.check(UpstreamAnswer(UnsafeRawBufferPointer(start: data, count: size)))
    return 0
}
