/// libFuzzer calls this once per input (through `LLVMFuzzerRunDriver`, see CFuzzerDriver): the
/// input is read as a config file, and as the value of `MILLIMETRIC_RELAY_<KEY>` for every key.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let text = String(decoding: bytes, as: UTF8.self)
    ConfigurationInvariants.checkFile(text)
    ConfigurationInvariants.checkValue(text, seed: bytes.first ?? 0)
    return 0
}
