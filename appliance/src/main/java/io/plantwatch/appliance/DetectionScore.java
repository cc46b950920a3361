package io.plantwatch.appliance;

import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.sim.fleet.AnomalyKind;
import io.plantwatch.sim.fleet.Label;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Injected anomalies (the simulator's labels) against the alerts the appliance raised: which were
 * found, how fast, and which alerts no injection explains. Late, duplicate and malformed readings
 * are set aside by design rather than alerted, so they are reported apart.
 */
final class DetectionScore {
    /** How far before an injection's start an alert's episode may begin and still be its. */
    static final long EARLY_MILLIS = 5_000;

    /** How long after an injection ends an alert still belongs to it (recovery, off-delays). */
    static final long AFTER_MILLIS = 120_000;

    /** The alert kinds that count as finding each kind of injection. */
    static final Map<AnomalyKind, Set<AlertKind>> FINDS = new EnumMap<>(AnomalyKind.class);

    static {
        FINDS.put(
                AnomalyKind.SPIKE,
                EnumSet.of(AlertKind.SPIKE, AlertKind.RATE_OF_CHANGE, AlertKind.OUT_OF_RANGE));
        FINDS.put(
                AnomalyKind.OUT_OF_RANGE,
                EnumSet.of(AlertKind.OUT_OF_RANGE, AlertKind.SPIKE, AlertKind.RATE_OF_CHANGE));
        FINDS.put(AnomalyKind.FLATLINE, EnumSet.of(AlertKind.FLATLINE));
        FINDS.put(AnomalyKind.DROPOUT, EnumSet.of(AlertKind.MISSING_DATA));
        FINDS.put(
                AnomalyKind.DRIFT,
                EnumSet.of(AlertKind.DRIFT, AlertKind.OUT_OF_RANGE, AlertKind.RATE_OF_CHANGE));
    }

    /**
     * The alert kind named after each kind of injection: an out-of-range excursion found first as a
     * spike should still say whether its own rule fired.
     */
    static final Map<AnomalyKind, AlertKind> OWN_KIND = new EnumMap<>(AnomalyKind.class);

    static {
        OWN_KIND.put(AnomalyKind.SPIKE, AlertKind.SPIKE);
        OWN_KIND.put(AnomalyKind.OUT_OF_RANGE, AlertKind.OUT_OF_RANGE);
        OWN_KIND.put(AnomalyKind.FLATLINE, AlertKind.FLATLINE);
        OWN_KIND.put(AnomalyKind.DROPOUT, AlertKind.MISSING_DATA);
        OWN_KIND.put(AnomalyKind.DRIFT, AlertKind.DRIFT);
    }

    /**
     * One injection, the first alert that found it (null if none), and the first alert of the
     * injection's own kind (null if that rule did not fire; the same as {@code alert} when it was
     * first).
     */
    record Finding(Label label, Alert alert, long latencyMillis, Alert own) {
        boolean found() {
            return alert != null;
        }

        /** How the demo's summary says it: which alert found it first, and whether its own did. */
        String describe() {
            if (alert == null) {
                return "MISSED";
            }
            String first =
                    String.format(
                            Locale.ROOT,
                            "found in %.1f s as %s",
                            latencyMillis / 1000.0,
                            alert.kind());
            AlertKind ownKind = OWN_KIND.get(label.kind());
            if (own == null) {
                return first + ", no " + ownKind + " alert";
            }
            if (own == alert) {
                return first;
            }
            return first
                    + String.format(
                            Locale.ROOT,
                            ", as %s in %.1f s",
                            ownKind,
                            (own.detectedAt() - label.startMillis()) / 1000.0);
        }
    }

    final List<Finding> findings = new ArrayList<>();
    final List<Alert> falseAlerts = new ArrayList<>();
    final Map<AlertKind, Integer> openedByKind = new EnumMap<>(AlertKind.class);
    final List<Label> setAside = new ArrayList<>();
    int opened;
    int resolved;

    /**
     * @param alerts every alert event read, in order; an alert's OPEN event carries when it was
     *     detected
     */
    DetectionScore(List<Label> labels, List<Alert> alerts) {
        Map<String, Alert> firstOpen = new LinkedHashMap<>();
        for (Alert a : alerts) {
            if (a.state() == AlertState.RESOLVED) {
                resolved++;
            } else if (firstOpen.putIfAbsent(a.alertId(), a) == null) {
                opened++;
                openedByKind.merge(a.kind(), 1, Integer::sum);
            }
        }
        for (Label l : labels) {
            Set<AlertKind> finds = FINDS.get(l.kind());
            if (finds == null) {
                setAside.add(l);
                continue;
            }
            Alert first = null;
            Alert own = null;
            for (Alert a : firstOpen.values()) {
                if (a.sensorId().id().equals(l.sensor())
                        && finds.contains(a.kind())
                        && belongs(a, l)) {
                    if (first == null || a.detectedAt() < first.detectedAt()) {
                        first = a;
                    }
                    if (a.kind() == OWN_KIND.get(l.kind())
                            && (own == null || a.detectedAt() < own.detectedAt())) {
                        own = a;
                    }
                }
            }
            findings.add(
                    new Finding(
                            l,
                            first,
                            first == null ? -1 : first.detectedAt() - l.startMillis(),
                            own));
        }
        for (Alert a : firstOpen.values()) {
            boolean explained =
                    labels.stream()
                            .anyMatch(l -> a.sensorId().id().equals(l.sensor()) && belongs(a, l));
            if (!explained) {
                falseAlerts.add(a);
            }
        }
    }

    private static boolean belongs(Alert a, Label l) {
        return a.episodeStart() >= l.startMillis() - EARLY_MILLIS
                && a.episodeStart() <= l.endMillis() + AFTER_MILLIS;
    }

    int injected() {
        return findings.size();
    }

    int detected() {
        return (int) findings.stream().filter(Finding::found).count();
    }

    /** The latency below which {@code p} of the found injections were detected; -1 if none. */
    long latencyPercentile(double p) {
        long[] l =
                findings.stream()
                        .filter(Finding::found)
                        .mapToLong(f -> Math.max(0, f.latencyMillis()))
                        .sorted()
                        .toArray();
        if (l.length == 0) {
            return -1;
        }
        int rank = (int) Math.ceil(p * l.length);
        return l[Math.max(0, Math.min(l.length - 1, rank - 1))];
    }

    /** The summary's last line, for scripts. */
    String machineLine() {
        return String.format(
                Locale.ROOT,
                "injected=%d detected=%d missed=%d false_alerts=%d p50_ms=%d p99_ms=%d",
                injected(),
                detected(),
                injected() - detected(),
                falseAlerts.size(),
                latencyPercentile(0.5),
                latencyPercentile(0.99));
    }
}
