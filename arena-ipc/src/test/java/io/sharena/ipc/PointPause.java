package io.sharena.ipc;

import io.sharena.core.crash.CrashPoint;
import io.sharena.core.crash.CrashPoints;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Pauses one thread at one crash point: the first thread named {@value #PAUSED} that reaches
 * {@code point} waits there until {@link #release()} (or {@link #close()}), while the test's other
 * threads run the conflicting operations.
 */
public final class PointPause implements AutoCloseable {
    public static final String PAUSED = "paused";

    private final CountDownLatch reached = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);
    private final AtomicBoolean armed = new AtomicBoolean(true);

    public PointPause(final CrashPoint point) {
        CrashPoints.install(p -> {
            if (p == point && PAUSED.equals(Thread.currentThread().getName()) && armed.compareAndSet(true, false)) {
                reached.countDown();
                try {
                    release.await();
                } catch (final InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
    }

    /** Starts {@code body} on a thread named {@value #PAUSED}. */
    public static Thread start(final Runnable body, final Throwable[] failure) {
        final Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (final Throwable e) {
                failure[0] = e;
            }
        }, PAUSED);
        t.start();
        return t;
    }

    /** @return whether the paused thread reached the point within 10 s */
    public boolean awaitReached() throws InterruptedException {
        return reached.await(10, TimeUnit.SECONDS);
    }

    public void release() {
        release.countDown();
    }

    @Override
    public void close() {
        release.countDown();
        CrashPoints.install(null);
    }
}
