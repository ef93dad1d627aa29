package io.sharena.core.os;

import java.io.IOException;

/**
 * A system call failed. Carries the call's name and {@code errno}, and a message with the
 * arguments that matter ({@code name=value}), built only on this failure path.
 */
public final class OsException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errno;

    OsException(final String call, final int errno, final String context) {
        super(call + " failed: errno=" + errno + " (" + Posix.strerror(errno) + ")"
            + (context.isEmpty() ? "" : ", " + context));
        this.call = call;
        this.errno = errno;
    }

    /** @return the name of the system call that failed, e.g. {@code "mmap"} */
    public String call() {
        return call;
    }

    /** @return the {@code errno} the call left */
    public int errno() {
        return errno;
    }
}
