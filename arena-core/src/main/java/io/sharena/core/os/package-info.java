/**
 * The operating system: the only package in sharena that makes FFM downcalls.
 *
 * <p>{@link io.sharena.core.os.Posix} binds {@code open}, {@code close}, {@code ftruncate},
 * {@code fsync}, {@code lseek}, {@code pread}, {@code mmap}, {@code munmap}, {@code madvise}, {@code mincore},
 * {@code fallocate}, {@code kill} (crash points only: {@link io.sharena.core.crash}) and {@code strerror} with {@link java.lang.foreign.Linker#nativeLinker()}, capturing
 * {@code errno}. {@link io.sharena.core.os.FileMapping} reserves the 4 GiB-aligned window and maps an
 * arena file into it; it calls the restricted {@link java.lang.foreign.MemorySegment#reinterpret}
 * to give the mapped range a size and a lifetime (a shared {@link java.lang.foreign.Arena} whose
 * close unmaps). {@link io.sharena.core.os.NativeFile} owns a descriptor opened with
 * {@code O_NOFOLLOW | O_CLOEXEC}.
 *
 * <p>These restricted calls are why the module needs {@code --enable-native-access=io.sharena.core}
 * and nothing else: no JDK-internal classes, and no opening or exporting of JDK packages.
 *
 * <p>Concurrency: the classes hold no shared mutable state of their own; a
 * {@link io.sharena.core.os.FileMapping} may be used from any thread and closed once. Crash model: the
 * kernel owns everything here, so a killed process leaves nothing to repair in this layer.
 */
package io.sharena.core.os;
