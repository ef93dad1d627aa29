package io.sharena.ipc;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaView;

/**
 * The one way the IPC structures report corruption found during use: mark the structure for repair
 * (a word of its own that its check reports until a repair clears it), then throw
 * {@link ArenaCorruptedException} naming the structure and the value read. Only ever on the failure
 * path, so the message is built only there.
 */
public final class Corruption {
    private Corruption() {
    }

    /**
     * @param view       a view of the arena, or null on a read-only attachment (nothing is marked then)
     * @param repairWord the structure's repair flag, or 0 if it has none (not -1: a flag in the arena's top half,
     *                   at 2 GiB or more, is a negative int)
     * @return never returns; declared to let callers write {@code throw Corruption.found(...)}
     */
    public static ArenaCorruptedException found(final ArenaView view, final int repairWord, final String structure,
                                                final long value, final String detail) {
        boolean marked = false;
        if (view != null && repairWord != 0) {
            try {
                view.putLongRelease(repairWord, 1L);
                marked = true;
            } catch (final RuntimeException readOnly) {
                // A read-only mapping cannot be marked; the exception still names the corruption.
            }
        }
        throw new ArenaCorruptedException(structure, value, detail, marked);
    }
}
