// Why this file exists: SwiftPM links every executable with `--defsym main=<Module>_main`, so
// that executables can be tested; under `-parse-as-library` (which libFuzzer needs, so that the
// Swift module has no `main` of its own) nothing defines `FuzzIngest_main` and the link fails.
// Defining it here and handing control to libFuzzer's documented driver entry point
// (LLVMFuzzerRunDriver) makes the SwiftPM-built executable a normal libFuzzer binary: every
// libFuzzer flag (-max_total_time, -runs, corpus directories, crash files) works as usual.
#include "CFuzzerDriver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int FuzzIngest_main(int argc, char **argv) {
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}
