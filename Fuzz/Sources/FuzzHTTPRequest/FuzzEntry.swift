/// libFuzzer calls this once per input (through `LLVMFuzzerRunDriver`, see CFuzzerDriver): the
/// input is the byte stream a client sends to the local API listener (SPEC §4b), request line,
/// headers, bodies (chunked or not), pipelined requests and all. See ``HTTPInvariants``.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    HTTPInvariants.check(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
