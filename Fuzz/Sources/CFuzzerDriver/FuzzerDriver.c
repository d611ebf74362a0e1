// Why this file exists: SwiftPM links every executable with `--defsym main=<Module>_main`, so
// that executables can be tested; under `-parse-as-library` (which libFuzzer needs, so that the
// Swift module has no `main` of its own) nothing defines `<Module>_main` and the link fails.
// Defining it here for each fuzz target and handing control to libFuzzer's documented driver
// entry point (LLVMFuzzerRunDriver) makes each SwiftPM-built executable a normal libFuzzer
// binary: every libFuzzer flag (-max_total_time, -runs, -fork, -merge, corpus directories,
// crash files) works as usual. Each executable defines its own LLVMFuzzerTestOneInput; the
// mains of the other targets are linked in unused.
#include "CFuzzerDriver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run(int argc, char **argv) {
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}

int FuzzIngest_main(int argc, char **argv) { return run(argc, argv); }
int FuzzConfiguration_main(int argc, char **argv) { return run(argc, argv); }
int FuzzRetryAfter_main(int argc, char **argv) { return run(argc, argv); }
int FuzzUpstreamVerdict_main(int argc, char **argv) { return run(argc, argv); }
int FuzzHTTPRequest_main(int argc, char **argv) { return run(argc, argv); }
