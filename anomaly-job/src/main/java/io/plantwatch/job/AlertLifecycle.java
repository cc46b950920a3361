package io.plantwatch.job;

import io.plantwatch.model.Alert;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeHint;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Turns detector signals into alert events the way alarm management asks (ISA-18.2): an ONSET opens
 * an episode (after the rule's on-delay, if the condition still holds then, so chattering is
 * suppressed); while it is open, further ONSETs are ignored; it resolves once its condition has
 * stayed clear for the off-delay. The alert id is (sensor, rule, episode start), so a replay or a
 * restore yields the same ids.
 *
 * <p>Signals from different detectors reach this operator in no particular order, so they wait here
 * until the watermark passes their event time and are then applied in event-time order: the outcome
 * depends only on the readings, not on how operators interleaved.
 */
public final class AlertLifecycle extends KeyedProcessFunction<String, Signal, Alert> {
    private static final long serialVersionUID = 1L;
    private static final long NONE = Long.MIN_VALUE;

    private transient MapState<Long, List<Signal>> pending;
    private transient MapState<String, Episode> episodes;
    private transient Counter opened;
    private transient Counter resolved;
    private transient Counter suppressed;
    private transient Counter retired;
    private transient Counter unconfirmed;

    /** One rule's episode on one sensor: pending (waiting out its on-delay) or open. */
    public static final class Episode {
        public Signal onset;
        public boolean open;
        public long clearSince = NONE;
        public long dueAt = NONE;

        /**
         * Clearing because the sensor's detectors started afresh ({@link Signal#startedOver}), not
         * because one saw the condition clear: resolved if none sees it again in time. Added to the
         * POJO later; episodes of earlier savepoints restore it false.
         */
        public boolean unconfirmed;

        public Episode() {}
    }

    @Override
    public void open(OpenContext context) {
        // No state TTL here (Flink 2.2 restores the state written with one): Flink's counts wall
        // time since the last write, the job's downtime included, so a restore more than
        // state.ttl after the stop forgot every open episode, and its alert stayed open for good
        // downstream. An episode leaves when it resolves; an open alert is not forgotten by a
        // timeout, as alarm management asks; a waiting signal leaves when the watermark passes.
        pending =
                getRuntimeContext()
                        .getMapState(
                                new MapStateDescriptor<>(
                                        "pending-signals",
                                        Types.LONG,
                                        TypeInformation.of(new TypeHint<List<Signal>>() {})));
        episodes =
                getRuntimeContext()
                        .getMapState(
                                new MapStateDescriptor<>(
                                        "episodes", Types.STRING, Types.POJO(Episode.class)));
        var metrics = getRuntimeContext().getMetricGroup();
        opened = metrics.counter("alertsOpened");
        resolved = metrics.counter("alertsResolved");
        suppressed = metrics.counter("alertsSuppressedByOnDelay");
        retired = metrics.counter("alertsRetiredByRulesChange");
        unconfirmed = metrics.counter("alertsResolvedUnconfirmedAfterDetectorsStartedOver");
    }

    @Override
    public void processElement(Signal s, Context ctx, Collector<Alert> out) throws Exception {
        if (s.time() <= ctx.timerService().currentWatermark()) {
            apply(s, ctx, out);
            return;
        }
        List<Signal> atTime = pending.get(s.time());
        if (atTime == null) {
            atTime = new ArrayList<>(2);
            ctx.timerService().registerEventTimeTimer(s.time());
        }
        atTime.add(s);
        pending.put(s.time(), atTime);
    }

    @Override
    public void onTimer(long time, OnTimerContext ctx, Collector<Alert> out) throws Exception {
        List<Signal> due = pending.get(time);
        if (due != null) {
            pending.remove(time);
            // ONSET before ACTIVE before CLEAR at one instant: a match and its level agree. The
            // rules in force come first: what the detectors tell at that instant is under them.
            due.sort(java.util.Comparator.comparingInt(AlertLifecycle::order));
            for (Signal s : due) {
                apply(s, ctx, out);
            }
        }
        List<String> rules = new ArrayList<>();
        for (String rule : episodes.keys()) {
            rules.add(rule);
        }
        for (String rule : rules) {
            Episode e = episodes.get(rule);
            if (e == null || e.dueAt == NONE || e.dueAt > time) {
                continue;
            }
            if (!e.open) {
                openEpisode(e, ctx, out);
                episodes.put(rule, e);
            } else if (e.clearSince != NONE) {
                resolve(rule, e, ctx, out);
            }
        }
    }

    private void apply(Signal s, Context ctx, Collector<Alert> out) throws Exception {
        if (s.type() == Signal.Type.HANDED_OVER) {
            Episode e = new Episode();
            e.onset = s;
            e.open = true;
            episodes.put(handedOverKey(s), e);
            return;
        }
        if (s.type() == Signal.Type.RULES) {
            if (s.startedOver()) {
                resolveHandedOver(s, ctx, out);
            }
            retireRulesNotInForce(s, ctx, out);
            if (s.startedOver()) {
                awaitConfirmation(s, ctx);
            }
            return;
        }
        Episode e = episodes.get(s.rule());
        switch (s.type()) {
            case ONSET -> {
                if (e != null) {
                    if (e.open) {
                        e.clearSince = NONE;
                        e.dueAt = NONE;
                        e.unconfirmed = false;
                        episodes.put(s.rule(), e);
                    }
                    return;
                }
                e = new Episode();
                e.onset = s;
                if (s.alarm().onDelayMillis() == 0) {
                    openEpisode(e, ctx, out);
                } else {
                    e.dueAt = s.time() + s.alarm().onDelayMillis();
                    ctx.timerService().registerEventTimeTimer(e.dueAt);
                }
                episodes.put(s.rule(), e);
            }
            case ACTIVE -> {
                if (e != null && e.open && e.clearSince != NONE) {
                    e.clearSince = NONE;
                    e.dueAt = NONE;
                    e.unconfirmed = false;
                    episodes.put(s.rule(), e);
                }
            }
            case CLEAR -> {
                if (e == null) {
                    return;
                }
                if (!e.open) {
                    suppressed.inc();
                    episodes.remove(s.rule());
                } else if (e.clearSince == NONE || e.unconfirmed) {
                    // Unconfirmed, it waited for detectors begun afresh; one saw it clear.
                    e.unconfirmed = false;
                    e.clearSince = s.time();
                    if (s.alarm().offDelayMillis() == 0) {
                        resolve(s.rule(), e, ctx, out);
                    } else {
                        e.dueAt = s.time() + s.alarm().offDelayMillis();
                        ctx.timerService().registerEventTimeTimer(e.dueAt);
                        episodes.put(s.rule(), e);
                    }
                }
            }
            default -> throw new IllegalStateException("unknown signal type " + s.type());
        }
    }

    /**
     * The job restarted with rules that no longer give this sensor some rule (removed, renamed,
     * switched off): no detector will clear that rule's episode again, and its alert would stay
     * open downstream for good. It resolves now, saying why; one still in its on-delay is dropped.
     */
    private void retireRulesNotInForce(Signal s, Context ctx, Collector<Alert> out)
            throws Exception {
        java.util.Set<String> inForce = s.rulesInForce();
        List<String> gone = new ArrayList<>();
        for (String rule : episodes.keys()) {
            if (!inForce.contains(rule) && !isHandedOver(rule)) {
                gone.add(rule);
            }
        }
        for (String rule : gone) {
            Episode e = episodes.get(rule);
            retired.inc();
            if (!e.open) {
                episodes.remove(rule);
                continue;
            }
            e.clearSince = Math.max(s.time(), e.onset.episodeStart());
            resolve(
                    rule,
                    e,
                    ctx,
                    out,
                    e.onset.sensorId()
                            + " no longer has rule "
                            + rule
                            + " (the rules changed); resolved at "
                            + Instant.ofEpochMilli(e.clearSince)
                            + " without a reading clearing it");
        }
    }

    /**
     * The sensor's detectors started afresh: none remembers a condition that held, and one that
     * starts afresh tells a level only when it changes, so nothing would ever clear an open
     * episode. Each open one now clears unless a detector sees its condition again within the grace
     * the signal gives (how long they may take) and the rule's off-delay; seen again, it goes on
     * under its id, and seen gone (a detector's CLEAR at its first judgement) it resolves after the
     * off-delay from then. One still in its on-delay is dropped: a condition that still holds is
     * told again.
     */
    private void awaitConfirmation(Signal s, Context ctx) throws Exception {
        List<String> rules = new ArrayList<>();
        for (String rule : episodes.keys()) {
            if (!isHandedOver(rule)) {
                rules.add(rule);
            }
        }
        for (String rule : rules) {
            Episode e = episodes.get(rule);
            if (!e.open) {
                suppressed.inc();
                episodes.remove(rule);
            } else if (e.clearSince == NONE) {
                e.clearSince = Math.max(s.time(), e.onset.episodeStart());
                e.unconfirmed = true;
                long wait =
                        confirmWithin(s, e)
                                + Math.min(e.onset.alarm().offDelayMillis(), Long.MAX_VALUE / 8);
                e.dueAt =
                        e.clearSince > Long.MAX_VALUE - wait ? Long.MAX_VALUE : e.clearSince + wait;
                ctx.timerService().registerEventTimeTimer(e.dueAt);
                episodes.put(rule, e);
            }
        }
    }

    /**
     * How long detectors begun afresh get to see an episode's condition again: twice the longer of
     * their windows and the time the episode's own detection took from its start. The latter is
     * what a rule counted in readings takes at the sensor's own rate (a flatline's 30 readings a
     * minute apart); twice, because a detector decides at its first reading past the window, and a
     * sensor's readings are not evenly spaced.
     */
    private static long confirmWithin(Signal rules, Episode e) {
        long took = Math.max(0, e.onset.time() - e.onset.episodeStart());
        return 2 * Math.min(Math.max(rules.graceMillis(), took), Long.MAX_VALUE / 8);
    }

    /**
     * Missing-data alerts handed over are kept apart, each under its own episode: a rule of another
     * type may share a name, and a sensor silent across two rescales has two.
     */
    private static String handedOverKey(Signal s) {
        return "\n" + s.rule() + "\n" + s.episodeStart();
    }

    private static boolean isHandedOver(String key) {
        return key.startsWith("\n");
    }

    /**
     * The sensor is heard again (its detectors tell their rules at its first reading of a run):
     * each missing-data alert handed over resolves, as the detector that opened it would have.
     */
    private void resolveHandedOver(Signal s, Context ctx, Collector<Alert> out) throws Exception {
        List<String> heard = new ArrayList<>();
        for (Map.Entry<String, Episode> e : episodes.entries()) {
            // Told by the run that handed it over or a later one: rules told by the run before the
            // restore, still waiting here, are not its return.
            if (isHandedOver(e.getKey()) && s.restoredFrom() >= e.getValue().onset.restoredFrom()) {
                heard.add(e.getKey());
            }
        }
        for (String rule : heard) {
            Episode e = episodes.get(rule);
            e.clearSince = Math.max(s.time(), e.onset.episodeStart());
            resolve(rule, e, ctx, out, e.onset.sensorId() + " sends again");
        }
    }

    private static int order(Signal s) {
        return switch (s.type()) {
            case HANDED_OVER -> -2;
            case RULES -> -1;
            default -> s.type().ordinal();
        };
    }

    private void openEpisode(Episode e, Context ctx, Collector<Alert> out) {
        Signal s = e.onset;
        long openedAt = e.dueAt == NONE ? s.time() : e.dueAt;
        e.open = true;
        e.dueAt = NONE;
        opened.inc();
        out.collect(alert(s, openedAt));
    }

    /** The OPEN event of the episode {@code onset} began, opened at event time {@code openedAt}. */
    private static Alert alert(Signal onset, long openedAt) {
        return Alert.open(
                        onset.sensorId(),
                        onset.rule(),
                        onset.kind(),
                        onset.alarm().severity(),
                        onset.episodeStart(),
                        openedAt,
                        System.currentTimeMillis(),
                        Arrays.stream(onset.alertValues()).boxed().toList(),
                        onset.message())
                .withDetail(onset.unit(), onset.namedLimits());
    }

    private void resolve(String rule, Episode e, Context ctx, Collector<Alert> out)
            throws Exception {
        if (e.unconfirmed) {
            unconfirmed.inc();
            resolve(
                    rule,
                    e,
                    ctx,
                    out,
                    e.onset.sensorId()
                            + ": its detectors started afresh at "
                            + Instant.ofEpochMilli(e.clearSince)
                            + " (the job was restored at another parallelism, or the sensor's state"
                            + " expired) and have not seen "
                            + rule
                            + " hold since; resolved without a reading clearing it, and alerted"
                            + " anew if they see it again");
            return;
        }
        resolve(
                rule,
                e,
                ctx,
                out,
                e.onset.sensorId()
                        + " back to normal for "
                        + rule
                        + " since "
                        + Instant.ofEpochMilli(e.clearSince));
    }

    private void resolve(String rule, Episode e, Context ctx, Collector<Alert> out, String message)
            throws Exception {
        Signal s = e.onset;
        resolved.inc();
        Alert open = alert(s, s.episodeStart());
        out.collect(
                open.resolve(
                        Math.max(e.clearSince, s.episodeStart()),
                        System.currentTimeMillis(),
                        message));
        episodes.remove(rule);
    }
}
