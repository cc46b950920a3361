package io.plantwatch.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.influxdb.client.InfluxDBClient;
import com.influxdb.client.InfluxDBClientFactory;
import com.influxdb.client.WriteApiBlocking;
import com.influxdb.client.domain.WritePrecision;
import com.influxdb.exceptions.InfluxException;
import org.junit.jupiter.api.Test;

/**
 * QuestDB in-process takes influxdb-client-java's line-protocol writes, answers SQL, keeps its data
 * and port across a restart, and with a de-duplicating table a rewritten point replaces the first
 * instead of doubling.
 */
class EmbeddedQuestDbTest {
    private static final String TOKEN = "unused-by-questdb";

    @Test
    void writesThroughTheInfluxClientSurviveARestartAndRewritesDoNotDouble() throws Exception {
        try (EmbeddedQuestDb db = new EmbeddedQuestDb().start();
                InfluxDBClient client =
                        InfluxDBClientFactory.create(
                                db.url(), TOKEN.toCharArray(), "plant", "plantwatch")) {
            db.createDedupTable("probe", "sensor SYMBOL, value DOUBLE", "sensor");
            WriteApiBlocking write = client.getWriteApiBlocking();
            write.writeRecords(
                    WritePrecision.NS,
                    java.util.List.of(
                            "probe,sensor=a value=1.5 1795564800000000000",
                            "probe,sensor=b value=2.5 1795564800000000000",
                            "probe,sensor=a value=3.5 1795564801000000000"));
            db.awaitTable("probe");
            assertThat(db.rows("select count() from probe").get(0).get(0).asLong()).isEqualTo(3);

            db.stop();
            assertThatThrownBy(() -> write.writeRecord(WritePrecision.NS, "probe,sensor=c value=9"))
                    .isInstanceOf(InfluxException.class);
            String url = db.url();
            db.start();
            assertThat(db.url()).isEqualTo(url);

            // The same series and time again: replaced, not doubled.
            write.writeRecord(WritePrecision.NS, "probe,sensor=a value=7.5 1795564800000000000");
            db.awaitTable("probe");
            assertThat(db.rows("select count() from probe").get(0).get(0).asLong()).isEqualTo(3);
            assertThat(
                            db.rows(
                                            "select value from probe where sensor = 'a' and"
                                                    + " timestamp = '2026-11-25T00:00:00.000000Z'")
                                    .get(0)
                                    .get(0)
                                    .asDouble())
                    .isEqualTo(7.5);
        }
    }
}
