package io.plantwatch.job.series;

import io.plantwatch.infra.EmbeddedQuestDb;

/**
 * The job's three measurements as QuestDB tables that keep one row per series and time, as InfluxDB
 * keeps one point: a replay or an at-least-once rewrite overwrites instead of doubling.
 */
public final class QuestDbTables {
    private QuestDbTables() {}

    public static void create(EmbeddedQuestDb db) throws Exception {
        db.createDedupTable(
                LineProtocol.READING,
                "site SYMBOL, area SYMBOL, line SYMBOL, machine SYMBOL, sensor SYMBOL, unit SYMBOL,"
                        + " value DOUBLE",
                "site",
                "area",
                "line",
                "machine",
                "sensor");
        db.createDedupTable(
                LineProtocol.STATS,
                "site SYMBOL, area SYMBOL, line SYMBOL, machine SYMBOL, sensor SYMBOL, \"count\" LONG,"
                        + " \"min\" DOUBLE, \"max\" DOUBLE, mean DOUBLE, missing LONG, duplicates LONG,"
                        + " late LONG, range_low DOUBLE, range_high DOUBLE",
                "site",
                "area",
                "line",
                "machine",
                "sensor");
        db.createDedupTable(
                LineProtocol.ALERT,
                "site SYMBOL, area SYMBOL, line SYMBOL, machine SYMBOL, sensor SYMBOL, rule SYMBOL,"
                        + " kind SYMBOL, severity SYMBOL, state STRING, value DOUBLE, message"
                        + " STRING, alert_id STRING",
                "site",
                "area",
                "line",
                "machine",
                "sensor",
                "rule",
                "kind",
                "severity");
    }
}
