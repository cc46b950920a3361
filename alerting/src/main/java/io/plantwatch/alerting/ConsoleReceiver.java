package io.plantwatch.alerting;

import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.SensorId;
import java.io.PrintStream;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * One readable line per alert as it opens and as it resolves, for a person at a terminal (the
 * demo). A notification lists its group's open alerts again; each alert state is printed once.
 */
public final class ConsoleReceiver implements Receiver {
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneId.systemDefault());

    private final String name;
    private final PrintStream out;

    /**
     * The alert states printed, the latest 100,000: a group's notification repeats its open alerts
     * only while they are recent, and a service that runs for months must not keep every one.
     */
    private final Set<String> printed =
            java.util.Collections.newSetFromMap(
                    new java.util.LinkedHashMap<>() {
                        @Override
                        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
                            return size() > 100_000;
                        }
                    });

    public ConsoleReceiver(String name, PrintStream out) {
        this.name = name;
        this.out = out;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String preview(Notification n, byte[] json) {
        StringBuilder b = new StringBuilder();
        lines(n, a -> true).forEach(l -> b.append(l).append('\n'));
        return b.toString();
    }

    @Override
    public synchronized WebhookReceiver.Outcome deliver(Notification n, byte[] json) {
        lines(n, a -> printed.add(a.alertId() + ":" + a.state())).forEach(out::println);
        out.flush();
        return WebhookReceiver.Outcome.DELIVERED;
    }

    /**
     * What {@code n} prints: a flood summary's line, then a line per alert {@code told} lets by.
     */
    private static List<String> lines(Notification n, java.util.function.Predicate<Alert> told) {
        List<String> lines = new java.util.ArrayList<>();
        if (n.status() == Notification.Status.SUMMARY) {
            // No count: the summary goes out as the flood starts, before the rest are held, so
            // any number here would be the flood's first one and contradict the metric.
            lines.add(
                    "ALERTS  flood limit reached for "
                            + SensorId.visible(n.receiver())
                            + ": further notifications in this window are held back (counted in"
                            + " plantwatch_alerting_flood_held_total); the alerting API lists every"
                            + " alert");
        }
        for (Alert a : n.alerts()) {
            if (told.test(a)) {
                lines.add(line(a));
            }
        }
        return lines;
    }

    /**
     * The time is the plant's, the event time of the reading that opened or resolved the alert, so
     * that lines read in the order things happened (missing data opens on the wall clock, as no
     * reading decides it); the sensor is a column of its own, and the message does not say it
     * again. The id and message are shown through {@link SensorId#visible}: control and format
     * characters from the plant (ANSI escapes, CR/LF, bidi overrides in a unit) show as {@code ?},
     * so one alert is one line and nothing in it rewrites the terminal.
     */
    static String line(Alert a) {
        boolean open = a.state() != AlertState.RESOLVED;
        String sensor = a.sensorId().id();
        String message = a.message();
        if (message.startsWith(sensor + " ")) {
            message = message.substring(sensor.length() + 1);
        }
        return String.format(
                Locale.ROOT,
                "%s  %-8s %-8s %-14s %s  %s",
                TIME.format(
                        Instant.ofEpochMilli(
                                open && a.kind() == AlertKind.MISSING_DATA
                                        ? a.detectedAt()
                                        : a.eventTime())),
                open ? "OPEN" : "RESOLVED",
                a.severity(),
                a.kind(),
                SensorId.visible(sensor),
                SensorId.visible(message));
    }
}
