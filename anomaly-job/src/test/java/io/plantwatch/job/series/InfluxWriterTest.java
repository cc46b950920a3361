package io.plantwatch.job.series;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.zip.GZIPInputStream;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The writer against a real HTTP server on loopback that answers as InfluxDB does when the token is
 * wrong or a point is malformed: one clear error line, nothing dropped, the bad point isolated; and
 * when it is away: the job is not held back, points wait in the spool and arrive once it is back.
 */
class InfluxWriterTest {
    private HttpServer server;
    private final List<String> stored = new CopyOnWriteArrayList<>();
    private final ListAppender<ILoggingEvent> log = new ListAppender<>();
    private volatile Function<String, Integer> answer = body -> 204;
    @TempDir Path spool;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext(
                "/api/v2/write",
                exchange -> {
                    InputStream in = exchange.getRequestBody();
                    if ("gzip".equals(exchange.getRequestHeaders().getFirst("Content-Encoding"))) {
                        in = new GZIPInputStream(new ByteArrayInputStream(in.readAllBytes()));
                    }
                    String body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                    int status = answer.apply(body);
                    if (status == 204) {
                        stored.addAll(body.lines().toList());
                    }
                    byte[] error =
                            status == 204
                                    ? new byte[0]
                                    : ("{\"code\":\"error\",\"message\":\"status " + status + "\"}")
                                            .getBytes(StandardCharsets.UTF_8);
                    exchange.sendResponseHeaders(status, status == 204 ? -1 : error.length);
                    if (status != 204) {
                        exchange.getResponseBody().write(error);
                    }
                    exchange.close();
                });
        server.start();
        log.start();
        ((Logger) LoggerFactory.getLogger(InfluxWriter.class)).addAppender(log);
    }

    @AfterEach
    void stop() {
        ((Logger) LoggerFactory.getLogger(InfluxWriter.class)).detachAppender(log);
        server.stop(0);
    }

    private InfluxWriter writer(int batch, boolean gzip) {
        return new InfluxWriter(
                new InfluxSettings(
                        "http://127.0.0.1:" + server.getAddress().getPort(),
                        "plant",
                        "plantwatch",
                        "wrong-token",
                        batch,
                        gzip,
                        Duration.ofMillis(200),
                        spool.toString(),
                        InfluxSettings.DEFAULT_SPOOL_MAX_BYTES),
                new UnregisteredMetricsGroup());
    }

    /** The points waiting in the spool, by the counts in its segments' names. */
    private long spooled() throws IOException {
        try (var files = Files.walk(spool)) {
            return files.map(f -> f.getFileName().toString())
                    .filter(n -> n.endsWith(".lp"))
                    .mapToLong(n -> Long.parseLong(n.substring(20, n.length() - 3)))
                    .sum();
        }
    }

    /**
     * Writes {@code n} points and flushes as before a checkpoint; true if that returned in 10 s.
     */
    private static boolean writeAndFlush(InfluxWriter w, String prefix, int n) throws Exception {
        CompletableFuture<Void> flushed =
                CompletableFuture.runAsync(
                        () -> {
                            try {
                                for (int i = 0; i < n; i++) {
                                    w.write("m,sensor=" + prefix + i + " value=" + i + " 1", null);
                                }
                                w.flush(false);
                            } catch (Exception e) {
                                throw new IllegalStateException(e);
                            }
                        });
        try {
            flushed.get(10, java.util.concurrent.TimeUnit.SECONDS);
            return true;
        } catch (java.util.concurrent.TimeoutException e) {
            return false;
        }
    }

    @Test
    void anAbsentServerHoldsNothingBackPointsWaitInTheSpoolAndArriveOnceItIsBack()
            throws Exception {
        answer = body -> 503;
        InfluxWriter w = writer(10, false);
        // Before, the writer waited for the server here, and with it the detectors in its chain.
        assertThat(writeAndFlush(w, "s", 95)).isTrue();
        assertThat(spooled()).isEqualTo(95);
        assertThat(stored).isEmpty();
        assertThat(writeAndFlush(w, "t", 20)).isTrue();
        assertThat(spooled()).isEqualTo(115);

        answer = body -> 204;
        await().atMost(Duration.ofSeconds(30)).until(() -> spooled() == 0);
        assertThat(stored).hasSize(115).doesNotHaveDuplicates();
        w.close();
        assertThat(log.list)
                .anySatisfy(
                        e ->
                                assertThat(e.getFormattedMessage())
                                        .contains("detection goes on", spool.toString()));
    }

    @Test
    void pointsLeftInTheSpoolAreWrittenByTheNextRun() throws Exception {
        answer = body -> 503;
        InfluxWriter w = writer(10, false);
        assertThat(writeAndFlush(w, "s", 30)).isTrue();
        // Not yet a batch, not flushed: spooled at close too.
        w.write("m,sensor=last value=1 1", null);
        w.close();
        assertThat(spooled()).isEqualTo(31);

        answer = body -> 204;
        InfluxWriter next = writer(10, false);
        await().atMost(Duration.ofSeconds(30)).until(() -> spooled() == 0);
        next.close();
        assertThat(stored).hasSize(31).doesNotHaveDuplicates().contains("m,sensor=last value=1 1");
    }

    @Test
    void aRefusedTokenIsOneClearErrorLineAndTheBatchGoesThroughOnceAccepted() throws Exception {
        AtomicInteger attempts = new AtomicInteger();
        answer = body -> attempts.incrementAndGet() <= 5 ? 401 : 204;
        InfluxWriter w = writer(100, false);
        CompletableFuture<Void> flushed =
                CompletableFuture.runAsync(
                        () -> {
                            try {
                                w.write("m,sensor=a value=1 1", null);
                                w.write("m,sensor=b value=2 2", null);
                                w.flush(false);
                            } catch (InterruptedException | IOException e) {
                                throw new IllegalStateException(e);
                            }
                        });
        await().atMost(Duration.ofSeconds(30)).until(flushed::isDone);
        flushed.get();
        await().atMost(Duration.ofSeconds(30)).until(() -> stored.size() == 2);
        w.close();

        assertThat(stored).containsExactly("m,sensor=a value=1 1", "m,sensor=b value=2 2");
        assertThat(attempts).hasValue(6);
        List<String> errors =
                log.list.stream()
                        .filter(e -> e.getLevel() == Level.ERROR)
                        .map(ILoggingEvent::getFormattedMessage)
                        .toList();
        assertThat(errors).hasSize(1);
        assertThat(errors.get(0)).contains("the token was refused").doesNotContain("wrong-token");
        assertThat(log.list)
                .anySatisfy(
                        e -> assertThat(e.getFormattedMessage()).contains("takes writes again"));
    }

    @Test
    void aMalformedPointIsIsolatedCountedAndTheRestOfItsBatchIsWritten() throws Exception {
        answer = body -> body.contains("broken") ? 400 : 204;
        InfluxWriter w = writer(10, true);
        for (int i = 0; i < 10; i++) {
            w.write(i == 6 ? "m,sensor=x broken" : "m,sensor=s" + i + " value=" + i + " 1", null);
        }
        w.flush(false);
        w.close();

        assertThat(stored).hasSize(9).noneMatch(l -> l.contains("broken"));
        assertThat(log.list)
                .filteredOn(e -> e.getLevel() == Level.ERROR)
                .singleElement()
                .satisfies(e -> assertThat(e.getFormattedMessage()).contains("m,sensor=x broken"));
    }
}
