package io.plantwatch.appliance;

import java.util.function.BooleanSupplier;

/** The appliance's watches: a daemon thread that checks once a period until it is interrupted. */
final class Periodic {
    private Periodic() {}

    /**
     * Starts {@code name}, running {@code check} at once and then every {@code periodMillis}.
     *
     * @param check one check; false ends the thread (its watch has handed on why)
     */
    static Thread every(String name, long periodMillis, BooleanSupplier check) {
        Thread t =
                new Thread(
                        () -> {
                            try {
                                while (!Thread.currentThread().isInterrupted()
                                        && check.getAsBoolean()) {
                                    Thread.sleep(periodMillis);
                                }
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        },
                        name);
        t.setDaemon(true);
        t.start();
        return t;
    }
}
