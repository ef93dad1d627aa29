package io.sharena.core.crash;

/**
 * One named step boundary of a multi-step change to shared state: the place between two stores
 * where a process may die or stall. Each package that changes shared state lists its points as an
 * enum implementing this interface ({@code AllocPoint}, {@code LockPoint}, ...), so a test can
 * enumerate them all.
 */
public interface CrashPoint {
    /** @return the enum constant's name; implemented by {@link Enum#name()} */
    String name();

    /** @return the point's id, {@code EnumSimpleName.CONSTANT}, as a test or tool names it */
    default String id() {
        return getClass().getSimpleName() + "." + name();
    }
}
