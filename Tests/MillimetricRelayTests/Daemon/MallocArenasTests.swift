import FoundationEssentials
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import MillimetricRelay

/// glibc's malloc arenas capped for the daemon (issue #11).
@Suite struct MallocArenasTests {
    /// An operator's `GLIBC_TUNABLES=glibc.malloc.arena_max=N` is recognised among other
    /// tunables, and nothing else is taken for it.
    @Test func anOperatorsArenaMaxTunableIsRecognised() {
        #expect(MallocArenas.tunablesSetArenaMax("glibc.malloc.arena_max=4"))
        #expect(MallocArenas.tunablesSetArenaMax("glibc.malloc.tcache_count=0:glibc.malloc.arena_max=1"))
        #expect(!MallocArenas.tunablesSetArenaMax(nil))
        #expect(!MallocArenas.tunablesSetArenaMax(""))
        #expect(!MallocArenas.tunablesSetArenaMax("glibc.malloc.arena_test=1"))
        #expect(!MallocArenas.tunablesSetArenaMax("glibc.malloc.arena_max_x=1"))
    }

    /// glibc accepts the cap (mallopt answers 1) unless the environment sets it already, or
    /// AddressSanitizer's allocator stands in for glibc's (`.ci/sanitizers.sh address`): its
    /// mallopt changes nothing and answers 0.
    @Test func glibcAcceptsTheCap() {
        let operatorSetIt = MallocArenas.tunablesSetArenaMax(getenv("GLIBC_TUNABLES").map { String(cString: $0) })
        let addressSanitizerAllocates = dlsym(nil, "__asan_init") != nil
        #expect(MallocArenas.limit() == !(operatorSetIt || addressSanitizerAllocates))
    }
}
