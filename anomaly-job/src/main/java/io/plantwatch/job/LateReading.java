package io.plantwatch.job;

import io.plantwatch.model.SensorReading;

/**
 * A reading the job set aside instead of detecting on it.
 *
 * @param reading the reading as it arrived
 * @param reason {@link #LATE}: older than the watermark; {@link #FUTURE}: stamped further ahead of
 *     the job's clock than allowed
 * @param watermark the job's watermark when it arrived
 */
public record LateReading(SensorReading reading, String reason, long watermark) {
    public static final String LATE = "late";
    public static final String FUTURE = "future";
}
