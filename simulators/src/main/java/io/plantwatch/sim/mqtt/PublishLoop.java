package io.plantwatch.sim.mqtt;

import io.plantwatch.sim.fleet.Emission;
import java.util.Iterator;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Publishes emissions on their schedule (or as fast as the broker takes them), with a bounded
 * number in flight so a slow broker slows the loop instead of filling memory. Keeps to the schedule
 * by comparing with absolute times, so a late wake-up is caught up, not accumulated.
 */
public final class PublishLoop {

    /** Longest single park, so a stop request is seen promptly. */
    private static final long MAX_PARK_NANOS = 50_000_000;

    private final MqttPublisher publisher;
    private final int maxInFlight;
    private final boolean paced;
    private final Semaphore inFlight;
    private final AtomicLong attempted = new AtomicLong();
    private final AtomicLong acknowledged = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong[] acknowledgedByType = new AtomicLong[Emission.Type.values().length];
    private final AtomicReference<String> firstError = new AtomicReference<>();
    private volatile long startNanos;
    private volatile long lastAckNanos;

    public PublishLoop(MqttPublisher publisher, int maxInFlight, boolean paced) {
        if (maxInFlight < 1) {
            throw new IllegalArgumentException("--max-in-flight must be at least 1");
        }
        this.publisher = publisher;
        this.maxInFlight = maxInFlight;
        this.paced = paced;
        this.inFlight = new Semaphore(maxInFlight);
        for (int i = 0; i < acknowledgedByType.length; i++) {
            acknowledgedByType[i] = new AtomicLong();
        }
    }

    /** Publishes until the emissions run out or {@code stop} says so; then waits for acks. */
    public PublishStats run(Iterator<Emission> emissions, BooleanSupplier stop)
            throws InterruptedException {
        startNanos = System.nanoTime();
        lastAckNanos = startNanos;
        while (!stop.getAsBoolean() && emissions.hasNext()) {
            Emission e = emissions.next();
            if (paced) {
                long due = startNanos + e.publishAtNanos();
                long wait;
                while ((wait = due - System.nanoTime()) > 0 && !stop.getAsBoolean()) {
                    LockSupport.parkNanos(Math.min(wait, MAX_PARK_NANOS));
                }
            }
            boolean acquired;
            while (!(acquired = inFlight.tryAcquire(MAX_PARK_NANOS, TimeUnit.NANOSECONDS))
                    && !stop.getAsBoolean()) {
                // The broker is behind: wait for acknowledgements rather than buffer more.
            }
            if (!acquired) {
                break;
            }
            attempted.incrementAndGet();
            int type = e.type().ordinal();
            CompletionRecorder done = new CompletionRecorder(type);
            try {
                publisher.publish(e.topic(), e.payload()).whenComplete(done);
            } catch (RuntimeException ex) {
                done.accept(null, ex);
            }
        }
        // Drain: every publish started is acknowledged or failed before we report.
        if (!inFlight.tryAcquire(maxInFlight, 60, TimeUnit.SECONDS)) {
            firstError.compareAndSet(null, "acknowledgements still missing after 60 s");
            // Counted as failed, so the run's exit code says it: unacknowledged is not delivered.
            failed.addAndGet(Math.max(0, attempted.get() - acknowledged.get() - failed.get()));
        } else {
            inFlight.release(maxInFlight);
        }
        return stats();
    }

    public PublishStats stats() {
        long end = lastAckNanos;
        return new PublishStats(
                attempted.get(),
                acknowledged.get(),
                failed.get(),
                Math.max(0, end - startNanos),
                firstError.get());
    }

    public long acknowledged(Emission.Type type) {
        return acknowledgedByType[type.ordinal()].get();
    }

    private final class CompletionRecorder
            implements java.util.function.BiConsumer<Void, Throwable> {
        private final int type;

        CompletionRecorder(int type) {
            this.type = type;
        }

        @Override
        public void accept(Void ignored, Throwable error) {
            if (error == null) {
                acknowledged.incrementAndGet();
                acknowledgedByType[type].incrementAndGet();
            } else {
                failed.incrementAndGet();
                Throwable root = error.getCause() != null ? error.getCause() : error;
                firstError.compareAndSet(
                        null, root.getClass().getSimpleName() + ": " + root.getMessage());
            }
            lastAckNanos = System.nanoTime();
            inFlight.release();
        }
    }
}
