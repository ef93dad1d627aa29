package io.sharena.core.alloc;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The idle purge: one daemon thread per JVM that, for every attachment with a purge delay, looks
 * a few times per delay whether its dirty free pages are due to go back to the operating system and,
 * if the allocator lock is free, purges them. A lock holder purges on its way out as well; this
 * thread covers an arena that nobody allocates from or frees into any more.
 *
 * <p>Each run is a plain read of two shared words unless a purge is due; the thread never waits for
 * the lock (one CAS), so it cannot delay an allocation by more than one purge.
 */
final class Purger {
    /** At most this long between two looks, whatever the delay (so a long delay is still kept). */
    private static final long MAX_PERIOD_NANOS = 250_000_000L;
    private static final long MIN_PERIOD_NANOS = 1_000_000L;
    private static final ScheduledThreadPoolExecutor EXECUTOR = executor();

    private Purger() {
    }

    private static ScheduledThreadPoolExecutor executor() {
        final ScheduledThreadPoolExecutor e = new ScheduledThreadPoolExecutor(1, r -> {
            final Thread t = new Thread(r, "sharena-purge");
            t.setDaemon(true);
            return t;
        });
        e.setRemoveOnCancelPolicy(true);
        return e;
    }

    /** (Re)schedules {@code ticket} to look every quarter of {@code delayNanos}; none for 0 (frees purge at once). */
    static void schedule(final Ticket ticket, final long delayNanos) {
        ticket.cancel();
        if (delayNanos == 0) {
            return;
        }
        final long period = Math.clamp(delayNanos / 4, MIN_PERIOD_NANOS, MAX_PERIOD_NANOS);
        synchronized (ticket) {
            ticket.stopped = false;
            ticket.future = EXECUTOR.scheduleWithFixedDelay(ticket::run, period, period, TimeUnit.NANOSECONDS);
        }
    }

    /** One attachment's scheduled look. */
    static final class Ticket {
        private final Runnable purge;
        private ScheduledFuture<?> future;
        private boolean stopped = true;

        Ticket(final Runnable purge) {
            this.purge = purge;
        }

        private synchronized void run() {
            if (stopped) {
                return;
            }
            try {
                purge.run();
            } catch (final RuntimeException | InternalError e) {
                // Corrupted metadata (marked for repair: the next holder repairs) or a file cut short
                // under the mapping (the next call in the user's thread reports it): not this thread's
                // to report. Stop looking; the lock holders still purge on their way out.
                stopped = true;
            }
        }

        /** Stops the looks and waits for one in progress (the monitor), so the mapping can go. */
        synchronized void cancel() {
            stopped = true;
            if (future != null) {
                future.cancel(false);
                future = null;
            }
        }
    }
}
