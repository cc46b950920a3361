package io.plantwatch.alerting;

import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Alerts about Plantwatch itself: a part of the pipeline that cannot do its work (the anomaly job
 * failing over and over, the gateway cut off from its broker, Kafka not answering alerting,
 * readings dropped by the broker). On the console these were WARN lines, which nobody reads on an
 * appliance run by a service manager; while they last, nothing is detected or nobody is told.
 *
 * <p>Each is an alert like a sensor's, on {@code plantwatch/pipeline/<instance>/<part>/<check>}
 * under the rule {@value #RULE}: routed, grouped, silenced, inhibited and journaled as theirs are.
 * It is handed to the dispatcher here, not read from Kafka, since Kafka may be what failed.
 *
 * <p>Parts report their state, a problem or none, from their own threads as often as they check
 * ({@link #report}); the service's loop turns a problem that lasted {@code pipeline-alerts.after}
 * into an OPEN, and its end, once clear for as long, into a RESOLVED (a part failing every few
 * seconds is one alert, not one per failure). The reports outlive a service replaced for a changed
 * file; what is open is in the journal, so a restart neither opens an alert again nor leaves one
 * open whose problem has gone.
 */
public final class PipelineAlerts {
    private static final Logger LOG = LoggerFactory.getLogger(PipelineAlerts.class);

    public static final String SITE = "plantwatch";
    public static final String AREA = "pipeline";
    public static final String RULE = "pipeline";

    /**
     * What can fail, and how urgently.
     *
     * @param part the part of the pipeline (the machine level of the id): {@code anomaly-job}
     * @param name the check (the sensor level): {@code running}
     * @param resolved what the RESOLVED says, one sentence: "The anomaly job runs again."
     * @param atOnce opens as soon as reported rather than after {@code pipeline-alerts.after}: the
     *     part waited before it reported, or every moment of the problem loses data
     */
    public record Check(
            String part, String name, Severity severity, String resolved, boolean atOnce) {}

    /**
     * {@code pipeline-alerts} in alerting.yaml.
     *
     * @param instance the line level of the ids, telling apart appliances that share receivers
     * @param after how long a problem lasts before it is an alert (a restart that recovers in
     *     seconds is not one)
     */
    public record Settings(boolean enabled, String instance, Duration after) {
        public static final Settings DEFAULT =
                new Settings(true, "appliance", Duration.ofSeconds(30));

        SensorId idOf(Check c) {
            return new SensorId(SITE, AREA, instance, c.part(), c.name());
        }

        /**
         * Whether {@code id} is a pipeline alert's. Any instance's: one service keeps a journal, so
         * one under another instance name is this one's from before a rename.
         */
        static boolean owns(SensorId id) {
            return id.site().equals(SITE) && id.area().equals(AREA);
        }
    }

    /**
     * A problem since {@code since} (wall clock, epoch ms), or none ({@code problem} null); the
     * problem stands until {@code until}, unless reported otherwise before.
     */
    private record Report(String problem, long since, long until) {}

    private final Map<Check, Report> reports = new ConcurrentHashMap<>();

    /**
     * The state of {@code c} now: {@code problem}, one sentence a person can act on, or null when
     * the part does its work. Thread-safe; cheap enough for every check a part makes.
     */
    public void report(Check c, String problem, long now) {
        report(c, problem, now, Long.MAX_VALUE, now);
    }

    /** How long after a start an open alert may wait for its first report. */
    static final long UNREPORTED_GRACE = 5 * 60_000;

    /** Checks reported at most: a source sending ever new names cannot grow them without end. */
    static final int MAX_REPORTED = 1_000;

    /**
     * As {@link #report(Check, String, long)}, from a source that says when its problem began and
     * until when it stands (Prometheus' alerts: {@code startsAt}, {@code endsAt}); a problem not
     * reported again by then has ended.
     *
     * @return false, and nothing reported, when {@code c} would be one check beyond {@link
     *     #MAX_REPORTED}
     */
    public boolean report(Check c, String problem, long since, long until, long now) {
        if (reports.size() >= MAX_REPORTED && !reports.containsKey(c)) {
            return false;
        }
        reports.compute(
                c,
                (k, old) ->
                        problem == null
                                ? new Report(null, now, Long.MAX_VALUE)
                                : new Report(
                                        problem,
                                        old != null && old.problem() != null && now < old.until()
                                                ? old.since()
                                                : Math.min(since, now),
                                        until));
        return true;
    }

    /**
     * {@code c} becomes {@code problem} at {@code by} unless this is called again before: for a
     * source that says from time to time that it is there (Prometheus' Watchdog, always firing).
     */
    public void expectAgainBy(Check c, String problem, long by) {
        reports.put(c, new Report(problem, by, Long.MAX_VALUE));
    }

    /** The problem reported of {@code c} standing at {@code now}, or null. */
    public String reported(Check c, long now) {
        Report r = reports.get(c);
        return r == null || now >= r.until() || now < r.since() ? null : r.problem();
    }

    /** The pipeline alerts of one run of the service, from its store. */
    Run start(Settings settings, AlertStore store, long now) {
        Run run = new Run(settings, store, now);
        current = run;
        return run;
    }

    /** The run applying the reports now, for {@link #told}; null before the first. */
    private volatile Run current;

    /**
     * Whether the alert {@code c}'s problem opened has been told to every receiver its routes name
     * (or muted there on purpose: silenced, inhibited, flood-held), or there is nothing to tell
     * (pipeline alerts switched off): a last word before the appliance stops on its own is waited
     * for with this. A route's {@code group-wait} longer than that wait keeps it until the next
     * start.
     */
    public synchronized boolean told(Check c) {
        Run run = current;
        if (run == null) {
            return false;
        }
        if (!run.settings.enabled()) {
            return true;
        }
        Spell spell = spells.get(run.settings.idOf(c));
        return spell != null && spell.open != null && run.store.wasNotified(spell.open);
    }

    /**
     * A check's problem from its first report until it has been clear for {@code after} (an
     * off-delay, so a part that fails every few seconds is one episode, not many), with the alert
     * it opened.
     */
    private static final class Spell {
        final long since;

        /** When its reports turned clear; 0 while they say a problem. */
        long clearSince;

        /** The alert open for it, or null. */
        Alert open;

        /** Closed by hand: not opened again within this spell. */
        boolean closedByHand;

        Spell(long since) {
            this.since = since;
        }
    }

    /**
     * The spells followed, kept as long as the reports: a service restarted for a changed file goes
     * on with them (one closed by hand stays closed). Used by one service's loop at a time.
     */
    private final Map<SensorId, Spell> spells = new HashMap<>();

    /** One service run's view: the spells it follows and the alerts they opened, from its loop. */
    final class Run {
        private final Settings settings;
        private final AlertStore store;
        private final long startedAt;

        private Run(Settings settings, AlertStore store, long now) {
            this.settings = settings;
            this.store = store;
            this.startedAt = now;
            synchronized (PipelineAlerts.this) {
                // Open before the process started: still a problem until reports say otherwise for
                // `after`, since a part's first reports may not know yet (a trend needs two
                // checkpoints).
                for (Alert a : store.firing()) {
                    if (a.rule().equals(RULE)
                            && Settings.owns(a.sensorId())
                            && !spells.containsKey(a.sensorId())) {
                        Spell spell = new Spell(a.episodeStart());
                        spell.open = a;
                        spells.put(a.sensorId(), spell);
                    }
                }
            }
        }

        /** Opens what lasted, resolves what ended; from the service's loop. */
        void apply(Dispatcher d, long now) {
            synchronized (PipelineAlerts.this) {
                applyLocked(d, now);
            }
        }

        private void applyLocked(Dispatcher d, long now) {
            for (Spell spell : spells.values()) {
                if (spell.open != null) {
                    AlertStore.Status s = store.statusOf(spell.open.alertId());
                    if (s == null || s == AlertStore.Status.RESOLVED) {
                        // Closed by hand, or forgotten: this spell tells nothing more.
                        spell.open = null;
                        spell.closedByHand = true;
                    }
                }
            }
            for (Map.Entry<SensorId, Spell> e : List.copyOf(spells.entrySet())) {
                Alert a = e.getValue().open;
                if (a != null && !a.sensorId().line().equals(settings.instance())) {
                    resolve(
                            d,
                            e.getKey(),
                            "This appliance's pipeline alerts are now under pipeline-alerts.instance "
                                    + settings.instance()
                                    + ".",
                            now);
                }
            }
            java.util.Set<SensorId> reported = new java.util.HashSet<>();
            for (Map.Entry<Check, Report> e : reports.entrySet()) {
                Check c = e.getKey();
                Report r = e.getValue();
                SensorId id = settings.idOf(c);
                reported.add(id);
                Spell spell = spells.get(id);
                if (!settings.enabled()) {
                    if (spell != null) {
                        resolve(
                                d,
                                id,
                                "Pipeline alerts are switched off (pipeline-alerts.enabled:"
                                        + " false).",
                                now);
                    }
                    continue;
                }
                boolean expired = r.problem() != null && now >= r.until();
                // Expected to turn into a problem later (expectAgainBy), not yet.
                boolean notYet = now < r.since();
                String problem = expired || notYet ? null : r.problem();
                if (problem == null) {
                    if (spell == null) {
                        continue;
                    }
                    if (spell.clearSince == 0) {
                        spell.clearSince = now;
                    }
                    if (now - spell.clearSince >= settings.after().toMillis()) {
                        resolve(
                                d,
                                id,
                                !expired
                                        ? c.resolved()
                                        : "No word on this since "
                                                + Instant.ofEpochMilli(r.until())
                                                + ": it may have ended unsaid, or its source"
                                                + " (Prometheus) is down or cannot reach alerting.",
                                now);
                    }
                    continue;
                }
                if (spell == null) {
                    spell = new Spell(r.since());
                    spells.put(id, spell);
                }
                spell.clearSince = 0;
                if (spell.open == null
                        && !spell.closedByHand
                        && (c.atOnce() || now - spell.since >= settings.after().toMillis())) {
                    open(d, c, id, spell, problem, now);
                }
            }
            if (now - startedAt < Math.max(settings.after().toMillis(), UNREPORTED_GRACE)) {
                // The parts that report may still be starting, and Prometheus sends its firing
                // alerts once a minute (each standing 4).
                return;
            }
            for (SensorId id : List.copyOf(spells.keySet())) {
                if (!reported.contains(id)) {
                    resolve(
                            d,
                            id,
                            "No part checks this any more (switched off, renamed in a newer"
                                    + " version, or its source, such as Prometheus, no longer"
                                    + " sends it).",
                            now);
                }
            }
        }

        private void open(
                Dispatcher d, Check c, SensorId id, Spell spell, String problem, long now) {
            long start = spell.since;
            String alertId = Alert.idFor(id, RULE, start);
            if (store.closedByHand(alertId)) {
                spell.closedByHand = true;
                return;
            }
            if (store.statusOf(alertId) != null) {
                // This episode was resolved here before (switched off and on, or renamed back): the
                // problem, still there, is a new one from now.
                start = now;
            }
            Alert o =
                    Alert.open(
                            id,
                            RULE,
                            AlertKind.OTHER,
                            c.severity(),
                            start,
                            now,
                            now,
                            List.of(),
                            problem);
            LOG.warn("Pipeline alert {} opens: {}", id, problem);
            d.onPipelineEvent(o, now);
            spell.open = o;
        }

        /** Ends {@code id}'s spell, resolving its alert if one is open. */
        private void resolve(Dispatcher d, SensorId id, String message, long now) {
            Spell spell = spells.remove(id);
            if (spell == null || spell.open == null) {
                return;
            }
            Alert a = spell.open;
            LOG.info("Pipeline alert {} resolves: {}", id, message);
            d.onPipelineEvent(a.resolve(Math.max(now, a.eventTime()), now, message), now);
        }
    }
}
