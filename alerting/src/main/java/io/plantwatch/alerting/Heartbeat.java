package io.plantwatch.alerting;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A dead man's switch: a GET to an outside monitor's URL (healthchecks.io, Uptime Kuma's push
 * monitor, Cronitor, Better Stack, a PagerDuty heartbeat) every {@code heartbeat.every} while the
 * service's loop comes round. The monitor alerts when the pings stop: the service or the appliance
 * stopped or crashed, its loop hangs, its host lost power or network. None of those can be told
 * from inside (pipeline alerts tell what a running service sees), so this is the one way a person
 * hears that nobody is watching the plant.
 *
 * <p>The URL holds the monitor's token: it is never logged, only its host.
 */
public final class Heartbeat implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Heartbeat.class);

    /** A loop that has not come round for this long is stuck: no ping, so the monitor alerts. */
    static final long LOOP_STUCK_MILLIS = 60_000;

    /** {@code heartbeat} in alerting.yaml; the URL is a secret and not shown. */
    public record Settings(URI url, Duration every) {
        @Override
        public String toString() {
            return "Settings[url="
                    + url.getScheme()
                    + "://"
                    + url.getHost()
                    + "/..., every="
                    + every
                    + "]";
        }
    }

    private final Settings settings;
    private final LongSupplier lastRound;
    private final AtomicLong sent;
    private final AtomicLong failed;
    private final HttpClient http;
    private final ScheduledExecutorService timer;
    private boolean failing;

    /**
     * @param lastRound when the service's loop last came round (epoch ms), 0 while it does not yet
     *     serve
     * @param sent pings the monitor took, counted on across restarts
     * @param failed pings that failed, counted on across restarts
     */
    Heartbeat(Settings settings, LongSupplier lastRound, AtomicLong sent, AtomicLong failed) {
        this.settings = settings;
        this.lastRound = lastRound;
        this.sent = sent;
        this.failed = failed;
        this.http =
                HttpClient.newBuilder()
                        .connectTimeout(timeout())
                        // A monitor's ping URL does not move; a redirect says which is wrong.
                        .followRedirects(HttpClient.Redirect.NEVER)
                        .build();
        this.timer =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "alerting-heartbeat");
                            t.setDaemon(true);
                            return t;
                        });
    }

    /** A ping may take up to 10 s, and never longer than the time between two. */
    private Duration timeout() {
        Duration ten = Duration.ofSeconds(10);
        return settings.every().compareTo(ten) < 0 ? settings.every() : ten;
    }

    /**
     * Looks every second (or {@code every}, if shorter), so the first ping goes as soon as the
     * service serves: a restart for a changed file leaves no longer gap than it takes.
     */
    Heartbeat start() {
        long look = Math.min(settings.every().toMillis(), 1_000);
        timer.scheduleWithFixedDelay(this::beatIfDue, 0, look, TimeUnit.MILLISECONDS);
        LOG.info(
                "Heartbeat to {} every {} s while alerting runs",
                where(),
                settings.every().toSeconds());
        if (settings.url().getScheme().equals("http")
                && !java.util.Set.of("127.0.0.1", "localhost", "::1", "[::1]")
                        .contains(settings.url().getHost())) {
            LOG.warn(
                    "The heartbeat's URL to {} is http: its token crosses the network readable;"
                            + " use https",
                    where());
        }
        return this;
    }

    /** When the last ping was sent (epoch ms), 0 before the first. */
    private long lastPing;

    private void beatIfDue() {
        long now = System.currentTimeMillis();
        if (lastPing != 0 && now - lastPing < settings.every().toMillis()) {
            return;
        }
        if (beat()) {
            lastPing = now;
        }
    }

    /**
     * Pings once, if the loop came round lately.
     *
     * @return whether it pinged (successfully or not)
     */
    boolean beat() {
        long round = lastRound.getAsLong();
        if (round == 0 || System.currentTimeMillis() - round > LOOP_STUCK_MILLIS) {
            return false;
        }
        try {
            HttpResponse<Void> r =
                    http.send(
                            HttpRequest.newBuilder(settings.url()).timeout(timeout()).GET().build(),
                            HttpResponse.BodyHandlers.discarding());
            if (r.statusCode() / 100 == 2) {
                sent.incrementAndGet();
                if (failing) {
                    failing = false;
                    LOG.warn("The heartbeat monitor at {} takes the pings again", where());
                }
            } else {
                failed("it answered " + r.statusCode());
            }
        } catch (IOException e) {
            // Not its message: it may quote the URL, and the URL is a secret.
            failed(e.getClass().getSimpleName());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            failed(e.getClass().getSimpleName());
        }
        return true;
    }

    private void failed(String why) {
        failed.incrementAndGet();
        if (!failing) {
            failing = true;
            LOG.warn(
                    "The heartbeat monitor at {} does not take the pings ({}): it will say that"
                            + " alerting is down; counted in"
                            + " plantwatch_alerting_heartbeats_failed_total",
                    where(),
                    why);
        }
    }

    private String where() {
        return settings.url().getHost();
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
