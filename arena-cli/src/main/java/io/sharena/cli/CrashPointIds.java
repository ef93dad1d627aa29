package io.sharena.cli;

import io.sharena.core.crash.CrashPoint;

import java.util.List;

/**
 * The crash points {@code stress --crash-point ID} knows: every constant of sharena's
 * {@link CrashPoint} enums, each id {@code EnumSimpleName.CONSTANT}. An id checked here before a
 * worker starts: a typo ran the whole {@code --seconds} and reported {@code reached=no}.
 *
 * <p>The enums are named by class name and loaded by reflection: the allocator's package is not
 * exported to this module ({@link Class#getEnumConstants} reads them all the same). A test checks
 * the list against every {@link CrashPoint} enum on the class path.
 */
final class CrashPointIds {
    /** Every crash-point enum, by its binary name. */
    static final List<String> ENUMS = List.of(
        "io.sharena.core.alloc.AllocPoint",
        "io.sharena.core.owner.LockPoint",
        "io.sharena.core.internal.CutRepairPoint",
        "io.sharena.ipc.RootsPoint",
        "io.sharena.ipc.heap.HeapPoint",
        "io.sharena.ipc.channel.ChannelPoint",
        "io.sharena.ipc.store.StorePoint",
        "io.sharena.ipc.store.StoreRepairPoint");

    private CrashPointIds() {
    }

    /**
     * @throws IllegalArgumentException if {@code id} is not {@code Enum.CONSTANT} of one of
     *                                  {@link #ENUMS}; the message says where the valid ids are
     */
    static void check(final String id) {
        final int dot = id.indexOf('.');
        final String enumName = dot < 0 ? id : id.substring(0, dot);
        for (final String className : ENUMS) {
            if (className.endsWith("." + enumName)) {
                for (final CrashPoint p : constants(className)) {
                    if (p.id().equals(id)) {
                        return;
                    }
                }
                throw new IllegalArgumentException("unknown crash point: --crash-point " + id + " (no such constant in "
                    + className + ", whose constants are " + enumName + "'s points; docs/crash-safety.md says what"
                    + " each enum covers)");
            }
        }
        throw new IllegalArgumentException("unknown crash point: --crash-point " + id + " (an id is ENUM.CONSTANT, ENUM"
            + " one of " + String.join(", ", ENUMS.stream().map(c -> c.substring(c.lastIndexOf('.') + 1)).toList())
            + ": their constants are the points; docs/crash-safety.md says what each enum covers)");
    }

    /** @return the constants of the crash-point enum {@code className} */
    static List<CrashPoint> constants(final String className) {
        try {
            final Class<?> c = Class.forName(className, false, CrashPointIds.class.getClassLoader());
            return List.of(c.getEnumConstants()).stream().map(CrashPoint.class::cast).toList();
        } catch (final ClassNotFoundException e) {
            throw new IllegalStateException("crash-point enum missing from the build: " + className, e);
        }
    }
}
