/**
 * The operating system: the only package in sharena that makes FFM downcalls.
 *
 * <p>{@link io.sharena.core.os.Posix} binds {@code open}, {@code close}, {@code ftruncate},
 * {@code fsync}, {@code lseek}, {@code pread}, {@code pwrite}, {@code fstat}, {@code fstatfs}, {@code mmap},
 * {@code munmap}, {@code madvise}, {@code mincore}, {@code fallocate}, {@code raise} (crash points only:
 * {@link io.sharena.core.crash}) and {@code strerror} with {@link java.lang.foreign.Linker#nativeLinker()},
 * capturing {@code errno}. {@code fstat} and {@code fstatfs} tell what an opened path really is
 * ({@link io.sharena.core.os.FileTypes}: a FIFO, socket, device, directory or {@code /proc} entry is
 * refused before a byte is read); {@code struct stat}'s layout differs between x86_64 and aarch64 and
 * both are handled; {@code pwrite} restores a header copy without mapping the file. {@link io.sharena.core.os.FileMapping} reserves the 4 GiB-aligned window and maps an
 * arena file into it; it calls the restricted {@link java.lang.foreign.MemorySegment#reinterpret}
 * to give the mapped range a size and a lifetime (a shared {@link java.lang.foreign.Arena} whose
 * close unmaps). {@link io.sharena.core.os.NativeFile} owns a descriptor opened with
 * {@code O_NOFOLLOW | O_CLOEXEC}, plus {@code O_NONBLOCK} for existing files, so that opening a
 * FIFO without a writer returns at once instead of blocking for ever.
 *
 * <p>These restricted calls are why the module needs {@code --enable-native-access=io.sharena.core}
 * and nothing else: no JDK-internal classes, and no opening or exporting of JDK packages.
 *
 * <p>Concurrency: the classes hold no shared mutable state of their own; a
 * {@link io.sharena.core.os.FileMapping} may be used from any thread and closed once. Crash model: the
 * kernel owns everything here, so a killed process leaves nothing to repair in this layer.
 */
package io.sharena.core.os;
