package io.plantwatch.job;

import io.plantwatch.job.rules.DetectorRules;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import io.plantwatch.model.Severity;
import java.time.Instant;
import java.util.List;
import java.util.function.Consumer;
import org.apache.flink.streaming.api.TimerService;

/**
 * Missing data: no reading from a sensor for {@code after} of wall-clock (processing) time.
 *
 * <p>Processing time, because a silent sensor moves no watermark: in event time its silence would
 * only be noticed once other sensors' readings push the watermark on, and never when the whole
 * plant goes quiet (a dead gateway, a cut network), which is exactly when it matters most. The
 * episode starts at the last reading's event time, so its alert id is the same in a replay.
 *
 * <p>It keeps its own lifecycle (OPEN on the timer, RESOLVED on the next reading) instead of the
 * event-time {@link AlertLifecycle}. One processing-time timer per sensor at a time: a reading only
 * moves the last-seen time, and the timer re-arms itself from it.
 */
public final class MissingDataDetector {

    /** What the detector remembers about a sensor. */
    public static final class Silence {
        public long lastSeen;
        public long lastEventTime;
        public double lastValue;
        public String unit;
        public long timerAt;
        public boolean open;
        public String sensorId;

        /**
         * The rule and severity of the open alert, which its resolution needs whatever the rules
         * say by then (its id holds the rule's name); null in states written before 2026-12-06.
         */
        public String rule;

        public Severity severity;

        public Silence() {}
    }

    private MissingDataDetector() {}

    /**
     * One reading, released at processing time {@code now}: resolves an open silence and arms the
     * timer; returns the state to keep.
     *
     * @param unwatchedBefore readings stamped before this event time were sent while this run of
     *     the job was not yet listening (its start, plus the clock skew allowed to sensors): a
     *     silence that ended with this reading and lasted {@code after} from such a reading may
     *     have opened in the run before, after its last checkpoint, or while no job ran
     */
    static Silence onReading(
            Silence s,
            SensorReading r,
            DetectorRules.MissingData rule,
            long now,
            long unwatchedBefore,
            TimerService timers,
            Consumer<Alert> out) {
        if (s == null) {
            s = new Silence();
            s.sensorId = r.key();
        } else if (!s.open
                && s.lastEventTime < unwatchedBefore
                && r.timestamp() - s.lastEventTime >= rule.afterMillis()) {
            // The restored state says no alert is open, but a run killed after its last
            // checkpoint may have sent the OPEN of this very episode (same sensor, rule and last
            // reading, so the same id), and this run's timer, counting from its own start, did
            // not reach it. Left so, that alert would stay open for good. The sensor's own
            // timestamps prove the silence, so the episode is told whole: an OPEN the alerting
            // service already has is a duplicate to it, and the RESOLVED closes it.
            Alert missed = opened(s, rule, now, " (seen when its next reading arrived)");
            out.accept(missed);
            out.accept(missed.resolve(r.timestamp(), now, r.sensorId() + " sends again"));
        }
        if (s.open) {
            resolve(
                    s,
                    rule,
                    Math.max(r.timestamp(), s.lastEventTime),
                    now,
                    r.sensorId() + " sends again",
                    out);
        }
        s.lastSeen = now;
        s.lastEventTime = Math.max(s.lastEventTime, r.timestamp());
        s.lastValue = r.value();
        if (!r.unit().equals(s.unit)) {
            s.unit = r.unit();
        }
        if (s.timerAt == 0) {
            s.timerAt = now + rule.afterMillis();
            timers.registerProcessingTimeTimer(s.timerAt);
        }
        return s;
    }

    /** The reading a silent sensor's rules are looked up by. */
    static SensorReading lastReading(Silence s) {
        return new SensorReading(
                SensorId.parse(s.sensorId),
                s.lastEventTime,
                s.lastValue,
                s.unit,
                io.plantwatch.model.Quality.GOOD,
                SensorReading.NO_SEQ);
    }

    /**
     * The processing-time timer: opens the alert when the silence has lasted, else re-arms.
     *
     * @param listeningSince when this run of the job started to read: a job restored after being
     *     stopped could not hear the sensors meanwhile, and their readings of that time are still
     *     to be read, so silence counts from here at the earliest. Otherwise every sensor's timer,
     *     overdue by the downtime, would open an alert at once and resolve it seconds later.
     * @param rule the sensor's rule now; null when the rules no longer ask for it
     */
    static void onTimer(
            Silence s,
            long time,
            long listeningSince,
            DetectorRules.MissingData rule,
            TimerService timers,
            Consumer<Alert> out) {
        if (rule == null) {
            s.timerAt = 0;
            return;
        }
        long heard = Math.max(s.lastSeen, listeningSince);
        if (time >= heard + rule.afterMillis()) {
            s.open = true;
            s.rule = rule.alarm().rule();
            s.severity = rule.alarm().severity();
            s.timerAt = 0;
            out.accept(opened(s, rule, time));
        } else {
            s.timerAt = heard + rule.afterMillis();
            timers.registerProcessingTimeTimer(s.timerAt);
        }
    }

    /**
     * The sensor's rules no longer ask for missing data: its open alert, if any, resolves now, as
     * nothing else would resolve it. Returns the state to keep, none.
     *
     * @param eventTime when it resolves: the sensor's reading, or its last one when still silent
     */
    static Silence retire(Silence s, long eventTime, long now, Consumer<Alert> out) {
        if (s != null && s.open) {
            resolve(
                    s,
                    null,
                    Math.max(eventTime, s.lastEventTime),
                    now,
                    s.sensorId
                            + ": the rules no longer ask for "
                            + (s.rule != null ? s.rule : FALLBACK_RULE)
                            + " here; resolved",
                    out);
        }
        return null;
    }

    /**
     * The open alert of a silence whose state is started over, for the {@link AlertLifecycle} to
     * keep until the sensor is heard again; null if none is open.
     *
     * @param rule the sensor's rule now, for a state that kept none (as {@link #resolve} names it)
     * @param restoredFrom the checkpoint the run handing it over was restored from
     */
    static Signal handedOver(Silence s, DetectorRules.MissingData rule, long restoredFrom) {
        if (s == null || !s.open) {
            return null;
        }
        DetectorRules.Alarm alarm = openAlarm(s, rule);
        return Signal.handedOver(
                SensorId.parse(s.sensorId),
                alarm,
                s.lastEventTime,
                s.lastValue,
                s.unit,
                AlertLimits.missingData(rule == null ? 0 : rule.afterMillis()),
                s.sensorId
                        + " sent nothing since its last reading at "
                        + Instant.ofEpochMilli(s.lastEventTime),
                restoredFrom);
    }

    /**
     * The name of an open alert's rule in a state written before the silence kept it: the rule's
     * default name, right unless the rules file named it otherwise.
     */
    private static final String FALLBACK_RULE = io.plantwatch.job.rules.RuleBook.MISSING_DATA;

    /**
     * The rule and severity the open alert was sent with (its id holds the rule's name); for a
     * state that kept none, the rule's now, or the default name.
     */
    private static DetectorRules.Alarm openAlarm(Silence s, DetectorRules.MissingData rule) {
        return s.rule != null
                ? new DetectorRules.Alarm(s.rule, s.severity, 0, 0)
                : rule != null
                        ? rule.alarm()
                        : new DetectorRules.Alarm(FALLBACK_RULE, Severity.WARNING, 0, 0);
    }

    private static void resolve(
            Silence s,
            DetectorRules.MissingData rule,
            long eventTime,
            long now,
            String message,
            Consumer<Alert> out) {
        DetectorRules.Alarm alarm = openAlarm(s, rule);
        out.accept(
                opened(s, alarm, rule == null ? 0 : rule.afterMillis(), now, "")
                        .resolve(eventTime, now, message));
        s.open = false;
        s.rule = null;
        s.severity = null;
    }

    private static Alert opened(Silence s, DetectorRules.MissingData rule, long detectedAt) {
        return opened(s, rule, detectedAt, "");
    }

    private static Alert opened(
            Silence s, DetectorRules.MissingData rule, long detectedAt, String note) {
        return opened(s, rule.alarm(), rule.afterMillis(), detectedAt, note);
    }

    private static Alert opened(
            Silence s, DetectorRules.Alarm alarm, long afterMillis, long detectedAt, String note) {
        return Alert.open(
                        SensorId.parse(s.sensorId),
                        alarm.rule(),
                        AlertKind.MISSING_DATA,
                        alarm.severity(),
                        s.lastEventTime,
                        detectedAt,
                        List.of(s.lastValue),
                        s.sensorId
                                + " sent nothing for "
                                + Format.duration(afterMillis)
                                + " (last reading "
                                + Instant.ofEpochMilli(s.lastEventTime)
                                + ")"
                                + note)
                .withDetail(
                        s.unit,
                        AlertLimits.named(
                                AlertKind.MISSING_DATA, AlertLimits.missingData(afterMillis)));
    }
}
