package io.plantwatch.job.series;

import java.io.Serializable;
import java.time.Duration;

/**
 * Where and how the series go.
 *
 * @param url the server, e.g. {@code http://influxdb:8086}
 * @param org the InfluxDB organisation
 * @param bucket the bucket
 * @param token the API token; never logged ({@link #toString()} masks it)
 * @param batchSize points per write request
 * @param gzip compress requests: helps across a network, costs CPU on loopback
 * @param maxRetryDelay the longest wait between two attempts of one batch
 * @param spoolDir where points wait on disk while the server does not take them; null for the
 *     default, a folder per server and bucket under the temporary folder
 * @param spoolMaxBytes how much may wait there before the job is held back
 */
public record InfluxSettings(
        String url,
        String org,
        String bucket,
        String token,
        int batchSize,
        boolean gzip,
        Duration maxRetryDelay,
        String spoolDir,
        long spoolMaxBytes)
        implements Serializable {

    /** The default spool: 1 GiB. */
    public static final long DEFAULT_SPOOL_MAX_BYTES = 1L << 30;

    /** With the default spool. */
    public InfluxSettings(
            String url,
            String org,
            String bucket,
            String token,
            int batchSize,
            boolean gzip,
            Duration maxRetryDelay) {
        this(
                url,
                org,
                bucket,
                token,
                batchSize,
                gzip,
                maxRetryDelay,
                null,
                DEFAULT_SPOOL_MAX_BYTES);
    }

    /**
     * The spool folder: {@link #spoolDir}, or one under the temporary folder named after the server
     * and bucket, so that two jobs writing elsewhere never send each other's points.
     */
    public java.nio.file.Path spool() {
        if (spoolDir != null && !spoolDir.isBlank()) {
            return java.nio.file.Path.of(spoolDir);
        }
        String where = url + "|" + org + "|" + bucket;
        java.util.UUID id =
                java.util.UUID.nameUUIDFromBytes(
                        where.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return java.nio.file.Path.of(
                System.getProperty("java.io.tmpdir"), "plantwatch-influx-spool", id.toString());
    }

    @Override
    public String toString() {
        return "InfluxSettings[url="
                + url
                + ", org="
                + org
                + ", bucket="
                + bucket
                + ", token="
                + (token == null || token.isEmpty() ? "(none)" : "****")
                + ", batchSize="
                + batchSize
                + ", gzip="
                + gzip
                + ", maxRetryDelay="
                + maxRetryDelay
                + ", spool="
                + spool()
                + ", spoolMaxBytes="
                + spoolMaxBytes
                + "]";
    }
}
