package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The dead man's switch against a real HTTP monitor on loopback. */
class HeartbeatTest {
    private static final String TOKEN = "9f1c2e7a-token";

    private HttpServer monitor;
    private final AtomicInteger pings = new AtomicInteger();
    private final AtomicInteger answer = new AtomicInteger(200);
    private final Logger log = (Logger) LoggerFactory.getLogger(Heartbeat.class);
    private final ListAppender<ILoggingEvent> said = new ListAppender<>();

    @BeforeEach
    void start() throws Exception {
        monitor = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        monitor.createContext(
                "/ping/" + TOKEN,
                ex -> {
                    pings.incrementAndGet();
                    ex.sendResponseHeaders(answer.get(), -1);
                    ex.close();
                });
        monitor.start();
        said.start();
        log.addAppender(said);
    }

    @AfterEach
    void stop() {
        monitor.stop(0);
        log.detachAppender(said);
    }

    private java.util.List<ILoggingEvent> warnings() {
        return said.list.stream().filter(e -> e.getLevel() == Level.WARN).toList();
    }

    private Heartbeat.Settings every200ms() {
        return new Heartbeat.Settings(
                URI.create("http://127.0.0.1:" + monitor.getAddress().getPort() + "/ping/" + TOKEN),
                Duration.ofMillis(200));
    }

    @Test
    void pingsWhileTheLoopComesRoundAndNotOnceItHangsOrBeforeItServes() {
        AtomicLong lastRound = new AtomicLong(0);
        AtomicLong sent = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        try (Heartbeat beat = new Heartbeat(every200ms(), lastRound::get, sent, failed).start()) {
            await().during(Duration.ofMillis(800))
                    .atMost(Duration.ofSeconds(2))
                    .until(() -> pings.get() == 0);

            lastRound.set(System.currentTimeMillis());
            await().atMost(Duration.ofSeconds(10)).until(() -> sent.get() >= 3);
            assertThat(pings.get()).isGreaterThanOrEqualTo(3);

            // The loop has not come round for a minute: silence, so the monitor alerts.
            lastRound.set(System.currentTimeMillis() - Heartbeat.LOOP_STUCK_MILLIS - 1_000);
            int before = pings.get();
            await().during(Duration.ofMillis(800))
                    .atMost(Duration.ofSeconds(2))
                    .until(() -> pings.get() <= before + 1);
        }
        int closed = pings.get();
        await().during(Duration.ofMillis(600))
                .atMost(Duration.ofSeconds(2))
                .until(() -> pings.get() == closed);
        assertThat(failed.get()).isZero();
    }

    /** A restart for a changed file leaves no longer gap than it takes, not one more period. */
    @Test
    void theFirstPingGoesAsSoonAsTheServiceServesThenOncePerPeriod() {
        AtomicLong lastRound = new AtomicLong(0);
        Heartbeat.Settings everyMinute =
                new Heartbeat.Settings(every200ms().url(), Duration.ofMinutes(1));
        try (Heartbeat beat =
                new Heartbeat(everyMinute, lastRound::get, new AtomicLong(), new AtomicLong())
                        .start()) {
            lastRound.set(System.currentTimeMillis());
            await().atMost(Duration.ofSeconds(5)).until(() -> pings.get() == 1);
            lastRound.set(System.currentTimeMillis());
            await().during(Duration.ofMillis(2_500))
                    .atMost(Duration.ofSeconds(4))
                    .until(() -> pings.get() == 1);
        }
    }

    @Test
    void aMonitorThatRefusesIsCountedAndSaidOnceWithoutItsToken() {
        AtomicLong sent = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        answer.set(503);
        try (Heartbeat beat =
                new Heartbeat(every200ms(), System::currentTimeMillis, sent, failed).start()) {
            await().atMost(Duration.ofSeconds(10)).until(() -> failed.get() >= 3);
            assertThat(sent.get()).isZero();
            assertThat(warnings())
                    .singleElement()
                    .extracting(ILoggingEvent::getFormattedMessage)
                    .asString()
                    .startsWith(
                            "The heartbeat monitor at 127.0.0.1 does not take the pings (it"
                                    + " answered 503)");

            answer.set(200);
            await().atMost(Duration.ofSeconds(10)).until(() -> sent.get() >= 1);
            assertThat(warnings())
                    .hasSize(2)
                    .last()
                    .extracting(ILoggingEvent::getFormattedMessage)
                    .isEqualTo("The heartbeat monitor at 127.0.0.1 takes the pings again");
        }
        monitor.stop(0);
        AtomicLong unreachable = new AtomicLong();
        try (Heartbeat beat =
                new Heartbeat(every200ms(), System::currentTimeMillis, sent, unreachable).start()) {
            await().atMost(Duration.ofSeconds(10)).until(() -> unreachable.get() >= 1);
        }
        assertThat(said.list)
                .extracting(ILoggingEvent::getFormattedMessage)
                .noneMatch(m -> m.contains(TOKEN));
        assertThat(every200ms().toString()).doesNotContain(TOKEN);
    }
}
