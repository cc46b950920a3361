package io.plantwatch.job;

/**
 * What arrived from one sensor in one event-time minute, so loss upstream shows instead of hiding.
 *
 * @param sensorId the sensor
 * @param minute start of the minute, epoch ms
 * @param received distinct readings detected on
 * @param missing sequence numbers skipped (net of gaps filled later in the same minute)
 * @param duplicates readings seen again (same sensor and seq) and dropped
 * @param late readings set aside as late or stamped in the future
 * @param min the lowest value received, NaN when none
 * @param max the highest value received, NaN when none
 * @param mean the mean of the values received, NaN when none
 * @param unit the unit of the values received, null when none
 */
public record CompletenessReport(
        String sensorId,
        long minute,
        long received,
        long missing,
        long duplicates,
        long late,
        double min,
        double max,
        double mean,
        String unit) {

    /** One JSON object, the value of a {@code sensor-completeness} record. */
    public String toJson() {
        return "{\"sensor\":\""
                + sensorId.replace("\\", "\\\\").replace("\"", "\\\"")
                + "\",\"minute\":"
                + minute
                + ",\"received\":"
                + received
                + ",\"missing\":"
                + missing
                + ",\"duplicates\":"
                + duplicates
                + ",\"late\":"
                + late
                + finite("min", min)
                + finite("max", max)
                + finite("mean", mean)
                + "}";
    }

    /**
     * A number field, left out when there is none (NaN) or it overflowed (the mean of readings near
     * Double.MAX_VALUE): JSON has no Infinity.
     */
    private static String finite(String field, double v) {
        return Double.isFinite(v) ? ",\"" + field + "\":" + v : "";
    }
}
