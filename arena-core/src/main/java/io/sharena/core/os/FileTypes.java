package io.sharena.core.os;

/**
 * Names for what a path can be besides a regular file, so that refusing one says what it is.
 * File systems whose files only look regular ({@code /proc}, {@code /sys}, ...) have zero sizes
 * and refuse seeks and mappings; they are named by their {@code f_type} magic.
 */
public final class FileTypes {
    private static final long PROC_SUPER_MAGIC = 0x9fa0L;
    private static final long SYSFS_MAGIC = 0x62656572L;
    private static final long DEBUGFS_MAGIC = 0x64626720L;
    private static final long TRACEFS_MAGIC = 0x74726163L;
    private static final long SECURITYFS_MAGIC = 0x73636673L;
    private static final long CGROUP_SUPER_MAGIC = 0x27e0ebL;
    private static final long CGROUP2_SUPER_MAGIC = 0x63677270L;
    private static final long CONFIGFS_MAGIC = 0x62656570L;
    private static final long BPF_FS_MAGIC = 0xcafe4a11L;
    private static final long PSTOREFS_MAGIC = 0x6165676cL;
    private static final long EFIVARFS_MAGIC = 0xde5e81e4L;

    private FileTypes() {
    }

    /** @return the name of a non-regular file type ({@code st_mode & S_IFMT}), {@code null} for a regular file */
    public static String describe(final int type) {
        return switch (type) {
            case Posix.S_IFREG -> null;
            case Posix.S_IFIFO -> "FIFO (named pipe)";
            case Posix.S_IFDIR -> "directory";
            case Posix.S_IFSOCK -> "socket";
            case Posix.S_IFCHR -> "character device";
            case Posix.S_IFBLK -> "block device";
            case Posix.S_IFLNK -> "symbolic link";
            default -> "unknown file type 0x" + Integer.toHexString(type);
        };
    }

    /** @return the name of a pseudo file system whose entries are not real files, or {@code null} */
    public static String pseudoFileSystem(final long fsType) {
        final long t = fsType & 0xFFFF_FFFFL;
        if (t == PROC_SUPER_MAGIC) {
            return "proc file system entry";
        } else if (t == SYSFS_MAGIC) {
            return "sysfs entry";
        } else if (t == DEBUGFS_MAGIC || t == TRACEFS_MAGIC) {
            return "debugfs/tracefs entry";
        } else if (t == SECURITYFS_MAGIC) {
            return "securityfs entry";
        } else if (t == CGROUP_SUPER_MAGIC || t == CGROUP2_SUPER_MAGIC) {
            return "cgroup file system entry";
        } else if (t == CONFIGFS_MAGIC) {
            return "configfs entry";
        } else if (t == BPF_FS_MAGIC) {
            return "bpf file system entry";
        } else if (t == PSTOREFS_MAGIC || t == EFIVARFS_MAGIC) {
            return "firmware file system entry";
        }
        return null;
    }
}
