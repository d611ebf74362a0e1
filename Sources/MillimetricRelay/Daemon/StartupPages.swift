import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Unmaps the code and read-only data pages that start-up faulted in, once the relay serves
/// (issue #11: the relay's memory at most syslog-ng's).
///
/// Starting the daemon runs code that never runs again (argument parsing, configuration, opening
/// the outbox, binding, libcurl's, OpenSSL's and GnuTLS's initialisation), and the kernel maps
/// that code 64 KB at a time (fault-around) or a whole large folio at once: about 9 MB of the
/// binary's own file and 13 MB of its shared libraries are resident after start-up (3.2 MB of
/// it libcrypto's), of which the running relay needs a fraction. `MADV_DONTNEED` on the
/// read-only segments of every loaded ELF object takes their pages out of this process's page
/// tables; they stay in the page cache (shared with other processes, reclaimable), and whatever
/// runs again faults its page back in, a minor fault.
///
/// Why this loses nothing: a read-only segment (a `PT_LOAD` without `PF_W`: `.text`, `.rodata`,
/// `.eh_frame`) of a private file mapping is never written, so every page of it is the file's
/// page; `MADV_DONTNEED` on it only drops the mapping, and the next access maps the same bytes.
/// RELRO (`.data.rel.ro`, written by the relocations before it became read-only) is part of a
/// writable `PT_LOAD` and is never touched, nor are `.data`, `.bss`, the heap or stacks. The
/// segments come from `dl_iterate_phdr`, which holds the loader's lock while it runs, so no object
/// can be unloaded (and its addresses reused) under the advice; the ranges are rounded inwards
/// to whole pages, so a page shared with a neighbouring writable segment is left alone.
enum StartupPages {
    /// How long after the services start the daemon releases once more what their own start-up
    /// faulted in (the event loops', the drainer's and the service group's first runs).
    static let settleDelay: Duration = .seconds(2)

    /// The whole pages inside `[start, start + length)`: the start rounded up, the end down.
    /// Nil when no whole page lies inside.
    static func wholePages(start: UInt, length: UInt, pageSize: UInt) -> Range<UInt>? {
        precondition(pageSize > 0 && pageSize & (pageSize - 1) == 0, "page size must be a power of two")
        let (end, overflow) = start.addingReportingOverflow(length)
        guard !overflow, start <= UInt.max - (pageSize - 1) else { return nil }
        let first = (start + pageSize - 1) & ~(pageSize - 1)
        let last = end & ~(pageSize - 1)
        return last > first ? first..<last : nil
    }

    /// What one release did: read-only segments advised, and their size.
    struct Released: Sendable, Equatable {
        var segments = 0
        var bytes = 0
    }

    /// Unmaps the pages of every loaded object's read-only segments. Nil where
    /// `dl_iterate_phdr` is missing. Best effort: a segment the kernel refuses (EPERM under a
    /// foreign seccomp filter) keeps its pages, which is always correct.
    @discardableResult
    static func release() -> Released? {
        #if os(Linux) && _pointerBitWidth(_64)
        // glibc declares dl_iterate_phdr and struct dl_phdr_info only under _GNU_SOURCE, which
        // Swift's Glibc module is not built with: the function comes from dlsym, and the callback
        // reads the struct's first four fields at their LP64 offsets (dl_iterate_phdr(3):
        // dlpi_addr 0, dlpi_name 8, dlpi_phdr 16, dlpi_phnum 24).
        typealias Callback = @convention(c) (UnsafeMutableRawPointer?, Int, UnsafeMutableRawPointer?) -> Int32
        typealias Iterate = @convention(c) (Callback, UnsafeMutableRawPointer?) -> Int32
        guard let symbol = dlsym(nil, "dl_iterate_phdr") else { return nil }
        let iterate = unsafeBitCast(symbol, to: Iterate.self)
        let released = UnsafeMutablePointer<Released>.allocate(capacity: 1)
        released.initialize(to: Released())
        defer { released.deallocate() }
        _ = iterate(releaseReadOnlySegments, released)
        return released.pointee
        #else
        return nil
        #endif
    }
}

#if os(Linux) && _pointerBitWidth(_64)
/// `dl_iterate_phdr`'s callback for ``StartupPages/release()``: one loaded object, whose
/// `struct dl_phdr_info` is read at its LP64 offsets; `context` is the running total.
private func releaseReadOnlySegments(_ info: UnsafeMutableRawPointer?, _ size: Int, _ context: UnsafeMutableRawPointer?) -> Int32 {
    guard let info, let context, size >= 26 else { return 0 }
    let base = info.load(fromByteOffset: 0, as: UInt.self)
    let name = info.load(fromByteOffset: 8, as: UnsafePointer<CChar>?.self)
    let count = Int(info.load(fromByteOffset: 24, as: UInt16.self))
    // The vDSO is the kernel's special mapping, not a file: leave it be.
    if let name, strncmp(name, "linux-vdso", 10) == 0 { return 0 }
    guard let headers = info.load(fromByteOffset: 16, as: UnsafePointer<Elf64_Phdr>?.self) else { return 0 }
    let released = context.assumingMemoryBound(to: StartupPages.Released.self)
    let pageSize = UInt(sysconf(Int32(_SC_PAGESIZE)))
    for index in 0..<count {
        let header = headers[index]
        guard header.p_type == UInt32(PT_LOAD), header.p_flags & UInt32(PF_W) == 0 else { continue }
        // p_filesz: the part of the segment the file backs (all of a read-only one).
        guard let pages = StartupPages.wholePages(start: base &+ UInt(header.p_vaddr), length: UInt(header.p_filesz), pageSize: pageSize)
        else { continue }
        if madvise(UnsafeMutableRawPointer(bitPattern: pages.lowerBound), pages.count, MADV_DONTNEED) == 0 {
            released.pointee.segments += 1
            released.pointee.bytes += pages.count
        }
    }
    return 0
}
#endif
