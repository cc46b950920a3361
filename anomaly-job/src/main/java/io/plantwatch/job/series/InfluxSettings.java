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
 */
public record InfluxSettings(
        String url,
        String org,
        String bucket,
        String token,
        int batchSize,
        boolean gzip,
        Duration maxRetryDelay)
        implements Serializable {

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
                + "]";
    }
}
