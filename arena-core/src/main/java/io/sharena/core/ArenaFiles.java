package io.sharena.core;

import io.sharena.core.alloc.PageAllocator;
import io.sharena.core.os.FileMapping;
import io.sharena.core.os.NativeFile;
import io.sharena.core.os.OsException;
import io.sharena.core.os.Posix;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;

/**
 * An arena's file: how it is created (its metadata's storage committed before it is written, so a
 * full file system is an error and not a SIGBUS; under a temporary name when it replaces an arena
 * no live process holds, moved over last; nothing left behind when it fails), how it is vetted
 * before anything is mapped (a regular file of this user, not a symlink,
 * with a valid header copy and its whole size), how it is mapped into its window, and what a
 * fault of the mapping becomes ({@link ArenaFaultException}, naming the file and its size).
 */
final class ArenaFiles {
    private static final int FILE_MODE = 0600;
    private static final SecureRandom IDS = new SecureRandom();

    private ArenaFiles() {
    }

    /** {@link SharedArena#create}. */
    static SharedArena create(final Path path, final Capacity capacity, final ArenaOptions options) throws IOException {
        if (path == null) {
            throw Errors.nullArgument("arena path", null);
        }
        if (capacity == null) {
            throw Errors.nullArgument("capacity", path);
        }
        final ArenaOptions opts = options == null ? ArenaOptions.defaults() : options;
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            vetExisting(path, opts.replace());
        }
        final Path target = opts.replace() ? siblingTempPath(path) : path;
        final ArenaHeader header = ArenaHeader.forCreate(capacity, opts.fixedAddress(), IDS.nextLong(),
            System.currentTimeMillis());
        final NativeFile file;
        try {
            file = NativeFile.createNew(target, FILE_MODE);
        } catch (final OsException e) {
            if (e.errno() == Posix.EEXIST) {
                throw new FileAlreadyExistsException(path.toString(), null, "arena file already exists");
            }
            throw e;
        }
        FileMapping mapping = null;
        try {
            file.truncate(capacity.bytes());
            commitMetadata(file, header, path);
            mapping = mapWindow(file, header, false);
            PageAllocator.format(mapping.segment(), header.capacityPages(), header.metaPages());
            header.writeTo(mapping.segment());
            if (target != path) {
                moveOver(target, path);
            }
            return new SharedArena(path, header, file, mapping, opts.withReadOnly(false));
        } catch (final Throwable e) {
            // Any failure, an Error included (a fault on the new mapping is one): nothing is left behind.
            if (mapping != null) {
                mapping.close();
            }
            closeQuietly(file, e);
            try {
                Files.deleteIfExists(target);
            } catch (final IOException | RuntimeException notDeleted) {
                e.addSuppressed(notDeleted);
            }
            if (e instanceof InternalError fault && ArenaFaultException.isMappingFault(fault)) {
                throw new IOException("fault writing the new arena's metadata (file system full?): path=" + path
                    + "; nothing was created", fault);
            }
            throw e;
        }
    }

    /**
     * Refuses to create over what exists at {@code path}: anything but a valid arena file (a text
     * file, a directory, a symlink, a damaged arena) in any case, an arena without {@code replace},
     * and with it an arena that other live processes have open ({@link SharedArena#delete}'s checks).
     */
    private static void vetExisting(final Path path, final boolean replace) throws IOException {
        final java.util.List<Long> holders;
        try {
            holders = SharedArena.liveHolders(path);
        } catch (final NoSuchFileException gone) {
            return; // removed meanwhile: created as a new file (createNew refuses one that comes back)
        } catch (final IOException notAnArena) {
            throw Errors.notAnArenaFile(path, notAnArena);
        }
        if (!replace) {
            throw Errors.alreadyExists(path);
        }
        if (!holders.isEmpty()) {
            throw new ArenaInUseException(path.toString(), holders, "not replaced (stop them first)");
        }
    }

    /**
     * Commits storage for the header and metadata pages before they are written through the
     * mapping: on a full file system the create fails here, with ENOSPC, where a store into a hole
     * of the mapping raised SIGBUS.
     */
    private static void commitMetadata(final NativeFile file, final ArenaHeader header, final Path path)
        throws IOException {
        final long bytes = io.sharena.core.layout.Geometry.pageBytes(
            io.sharena.core.layout.Geometry.firstUserPage(header.capacityPages()));
        try {
            file.allocate(0, bytes);
        } catch (final OsException e) {
            throw new IOException("cannot commit storage for the new arena's metadata: bytes=" + bytes + ", path=" + path
                + ": " + e.getMessage() + "; nothing was created", e);
        }
    }

    /** {@link SharedArena#open}. */
    static SharedArena open(final Path path, final ArenaOptions options) throws IOException {
        if (path == null) {
            throw Errors.nullArgument("arena path", null);
        }
        final ArenaOptions opts = options == null ? ArenaOptions.defaults() : options;
        final NativeFile file = openChecked(path, !opts.readOnly(), opts);
        try {
            final long size = file.size();
            final ArenaHeader header = ArenaHeader.read(file, size).header();
            if (size < header.capacityBytes()) {
                throw Errors.truncated(size, header.capacityBytes());
            }
            final FileMapping mapping = mapWindow(file, header, opts.readOnly());
            try {
                return new SharedArena(path, header, file, mapping, opts);
            } catch (final InternalError e) {
                mapping.close();
                throw faultFor(path, file, header, "open", e);
            } catch (final IOException | RuntimeException e) {
                mapping.close();
                throw e;
            }
        } catch (final IOException | RuntimeException e) {
            closeQuietly(file, e);
            throw e;
        }
    }

    /** Opens the file and refuses what is not a regular file of this user, before reading a byte. */
    static NativeFile openChecked(final Path path, final boolean writable, final ArenaOptions opts)
        throws IOException {
        final NativeFile file = openFile(path, writable);
        try {
            final String irregular = file.irregularType();
            if (irregular != null) {
                throw Errors.notRegular(path, irregular);
            }
            checkOwner(path, file.stat().uid(), opts);
            return file;
        } catch (final IOException | RuntimeException e) {
            closeQuietly(file, e);
            throw e;
        }
    }

    private static NativeFile openFile(final Path path, final boolean writable) throws IOException {
        try {
            return NativeFile.open(path, writable);
        } catch (final OsException e) {
            if (e.errno() == Posix.ELOOP) {
                throw new AccessDeniedException(path.toString(), null, "refusing to open a symlink as an arena");
            }
            if (e.errno() == Posix.ENOENT) {
                throw new NoSuchFileException(path.toString(), null, "no arena file");
            }
            if (e.errno() == Posix.EACCES || e.errno() == Posix.EPERM) {
                throw new AccessDeniedException(path.toString(), null, "permission denied (" + e.call() + ": errno="
                    + e.errno() + ")");
            }
            // A directory opened for writing (EISDIR), a socket (ENXIO), a device without a driver
            // (ENXIO, ENODEV): name what the path is, from its mode, rather than the errno.
            final String type = typeOf(path);
            if (type != null) {
                final ArenaFormatException f = Errors.notRegular(path, type);
                f.addSuppressed(e);
                throw f;
            }
            throw e;
        }
    }

    /** @return the type of a path that is not a regular file, from its mode; null if regular or unknown */
    private static String typeOf(final Path path) {
        try {
            final int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            return io.sharena.core.os.FileTypes.describe(mode & Posix.S_IFMT);
        } catch (final IOException | RuntimeException e) {
            return null;
        }
    }

    private static void checkOwner(final Path path, final int owner, final ArenaOptions options) throws IOException {
        if (options.allowForeignOwner()) {
            return;
        }
        // /proc/self belongs to this process's effective user.
        final int self = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        if (owner != self) {
            throw new AccessDeniedException(path.toString(), null,
                "arena file owned by another user: ownerUid=" + owner + ", uid=" + self
                    + " (allow it with allowForeignOwner)");
        }
    }

    private static FileMapping mapWindow(final NativeFile file, final ArenaHeader header, final boolean readOnly)
        throws IOException {
        try {
            return FileMapping.map(file.fd(), header.capacityBytes(), header.fixedAddress(), !readOnly);
        } catch (final OsException e) {
            if (e.errno() == Posix.EEXIST && header.fixedAddress() != 0) {
                throw new IOException("fixed address already in use in this process: fixedAddress=0x"
                    + Long.toHexString(header.fixedAddress()) + ", path=" + file.path(), e);
            }
            throw e;
        }
    }

    private static Path siblingTempPath(final Path path) {
        final Path name = path.getFileName();
        return path.resolveSibling("." + name + ".creating-" + Long.toUnsignedString(IDS.nextLong(), 36));
    }

    private static void moveOver(final Path from, final Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (final AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void closeQuietly(final NativeFile file, final Throwable primary) {
        try {
            file.close();
        } catch (final OsException e) {
            primary.addSuppressed(e);
        }
    }

    /** The fault a call raised on the mapping, as an exception naming the file and its size; any other error is rethrown. */
    static ArenaFaultException faultFor(final Path path, final NativeFile file, final ArenaHeader header,
                                        final String operation, final InternalError e) {
        if (!ArenaFaultException.isMappingFault(e)) {
            throw e;
        }
        long size;
        try {
            size = file.size();
        } catch (final OsException statFailed) {
            e.addSuppressed(statFailed);
            size = -1;
        }
        return new ArenaFaultException(path, size, header.capacityBytes(), operation, e);
    }
}
