package io.plantwatch.alerting;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service's decisions, in order: store the event; a silenced, inhibited ({@link Inhibition}),
 * shelved or flapping transition is recorded and not notified; the resolution of a latching alert
 * nobody acknowledged is held (the alert stays open as LATCHED until acknowledged); otherwise it
 * joins its routes' groups. Due notifications pass the flood gate and go to their receivers, each
 * on its own thread so a receiver that is down delays only itself; once a receiver has the
 * notification, its alert states are marked notified in the store, and one it refused or gave up on
 * goes back to its group, to be sent again a group interval later. Shelving that runs out puts a
 * still-open alert back in its groups, and so does a silence or an inhibition that ends. The
 * resolution of an alert its receivers were told of is told, silenced or held by the flood gate: it
 * would stay open for them for good.
 */
public final class Dispatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);

    private final AlertStore store;
    private final Route root;
    private final Map<String, Receiver> receivers;
    private final Map<String, ExecutorService> lanes = new java.util.HashMap<>();
    private final Grouper grouper = new Grouper();
    private final FloodGate flood;
    private final FlapDetector flap;
    private final List<AlertMatcher> latching;
    private final List<Inhibition> inhibitions;

    /**
     * Per inhibition, the keys under which the firing alerts hold back its targets ({@link
     * Inhibition#count}), kept as each alert changes; built from the store at first use.
     */
    private List<List<Map<String, Integer>>> holding;

    private final Metrics metrics;
    private final ChartLinks charts;

    /** Set by {@link #close}, once its receivers' counts went to {@link #metrics}. */
    private volatile boolean closed;

    // Filled by the receivers' threads, emptied under this object's lock with the caller's clock.
    private final java.util.Queue<Undelivered> undelivered =
            new java.util.concurrent.ConcurrentLinkedQueue<>();

    /**
     * Counters for the metrics endpoint; per receiver where it says so. One object goes from a
     * dispatcher to the next when alerting restarts for a changed file, so they do not start from 0
     * again: a counter reset would read as a gap in an operator's graph of deliveries.
     */
    public static final class Metrics {
        final AtomicLong events = new AtomicLong();

        /** Alerts about the pipeline itself, opened and resolved ({@link PipelineAlerts}). */
        final AtomicLong pipelineEvents = new AtomicLong();

        final AtomicLong duplicates = new AtomicLong();
        final AtomicLong silenced = new AtomicLong();
        final AtomicLong inhibited = new AtomicLong();
        final AtomicLong shelved = new AtomicLong();
        final AtomicLong flapping = new AtomicLong();
        final AtomicLong latched = new AtomicLong();
        final AtomicLong closedByHand = new AtomicLong();
        final Map<String, AtomicLong> delivered = new java.util.concurrent.ConcurrentHashMap<>();
        final Map<String, AtomicLong> failed = new java.util.concurrent.ConcurrentHashMap<>();
        // What closed dispatchers' receivers and flood gates counted, which live with them.
        final Map<String, AtomicLong> failedAttemptsBefore =
                new java.util.concurrent.ConcurrentHashMap<>();
        final Map<String, AtomicLong> floodHeldBefore =
                new java.util.concurrent.ConcurrentHashMap<>();

        static long get(Map<String, AtomicLong> m, String receiver) {
            AtomicLong v = m.get(receiver);
            return v == null ? 0 : v.get();
        }
    }

    /**
     * The dispatcher {@code c} describes: its routes, receivers, flood gate, flapping, latching.
     */
    public static Dispatcher of(AlertingConfig c, AlertStore store) {
        return of(c, store, new Metrics());
    }

    /** The dispatcher {@code c} describes, counting on from {@code metrics}. */
    static Dispatcher of(AlertingConfig c, AlertStore store, Metrics metrics) {
        return new Dispatcher(
                store,
                c.route(),
                c.receivers(),
                new FloodGate(c.floodLimit(), c.floodWindow().toMillis()),
                new FlapDetector(c.flapMaxChanges(), c.flapWindow().toMillis()),
                c.latching(),
                metrics,
                c.grafanaUrl() == null ? null : new ChartLinks(c.grafanaUrl()),
                c.inhibitions());
    }

    public Dispatcher(
            AlertStore store,
            Route root,
            Map<String, Receiver> receivers,
            FloodGate flood,
            FlapDetector flap,
            List<AlertMatcher> latching) {
        this(store, root, receivers, flood, flap, latching, new Metrics());
    }

    Dispatcher(
            AlertStore store,
            Route root,
            Map<String, Receiver> receivers,
            FloodGate flood,
            FlapDetector flap,
            List<AlertMatcher> latching,
            Metrics metrics) {
        this(store, root, receivers, flood, flap, latching, metrics, null, List.of());
    }

    /**
     * @param charts links each alert to its sensor's chart on Grafana; null for none
     * @param inhibitions alerts that hold back others while they fire ({@code inhibit:})
     */
    Dispatcher(
            AlertStore store,
            Route root,
            Map<String, Receiver> receivers,
            FloodGate flood,
            FlapDetector flap,
            List<AlertMatcher> latching,
            Metrics metrics,
            ChartLinks charts,
            List<Inhibition> inhibitions) {
        this.inhibitions = List.copyOf(inhibitions);
        this.charts = charts;
        this.metrics = metrics;
        this.store = store;
        this.root = root;
        this.receivers = Map.copyOf(receivers);
        this.flood = flood;
        this.flap = flap;
        this.latching = List.copyOf(latching);
        receivers
                .keySet()
                .forEach(
                        name ->
                                lanes.put(
                                        name,
                                        Executors.newSingleThreadExecutor(
                                                r -> new Thread(r, "receiver-" + name))));
    }

    /**
     * After a restart: what the store has that not every receiver was told joins the groups of the
     * receivers that still wait for it.
     */
    public synchronized void restore(long now) {
        List<Alert> pending = store.unnotified();
        pending.forEach(a -> route(a, now, store.takenBy(a)));
        // Whether what held them back (a silence, an inhibition) still does, or ended while the
        // service was down, the next dispatch decides.
        List<Silence> silences = store.silences();
        Instant t = Instant.ofEpochMilli(now);
        for (Alert a : store.mutedOpen()) {
            mutedOpen.add(a.alertId());
            if (!silenced(a, silences, t) && inhibited(a)) {
                heldByInhibition.add(a.alertId());
            }
        }
        // Before the first poll: a resolution in it must not pass for one within the silence.
        tellWhatNoLongerHeldBack(now, silences);
        if (!pending.isEmpty()) {
            LOG.info(
                    "{} alert states not yet notified before the restart are queued",
                    pending.size());
        }
    }

    /** One alert event from Kafka at (partition, offset). */
    public void onEvent(Alert a, int partition, long offset, long now) {
        onEvent(a, partition, offset, Optional.empty(), now);
    }

    /** One alert event from Kafka at (partition, offset), written in leader epoch {@code epoch}. */
    public synchronized void onEvent(
            Alert a, int partition, long offset, Optional<Integer> epoch, long now) {
        metrics.events.incrementAndGet();
        onEvent(a, () -> store.event(a, partition, offset, epoch, now), now);
    }

    /**
     * One alert about the pipeline itself ({@link PipelineAlerts}), from no Kafka position: Kafka
     * may be what failed.
     */
    public synchronized void onPipelineEvent(Alert a, long now) {
        metrics.pipelineEvents.incrementAndGet();
        onEvent(a, () -> store.event(a, now), now);
    }

    /** One alert event; {@code record} writes it to the journal with where it came from. */
    private void onEvent(Alert a, Runnable record, long now) {
        // Closed by hand: the detector's own resolution, whenever it comes, and any replay are
        // repeats; who closed it and why stay.
        Alert was = firingNow(a.alertId());
        if (store.wasNotified(a) || store.endedBefore(a) || store.closedByHand(a.alertId())) {
            metrics.duplicates.incrementAndGet();
            // A duplicate: keep the position, tell nobody.
            try {
                record.run();
            } finally {
                firingChanged(was, a.alertId());
            }
            return;
        }
        AlertStore.Status before = store.statusOf(a.alertId());
        // A resolution whose OPEN a receiver heard (a silence begun since) is told: held back,
        // the alert stayed open for them for good (a PagerDuty incident, an andon light). From
        // the store, so a restart or shelving in between does not lose it.
        boolean heardOpen = a.state() == AlertState.RESOLVED && heardOpen(a.alertId());
        try {
            record.run();
        } finally {
            // The store applies a record before it writes it: a write that fails has changed it.
            firingChanged(was, a.alertId());
        }
        Instant t = Instant.ofEpochMilli(now);
        boolean silenced = silenced(a, store.silences(), t);
        boolean inhibited = !silenced && inhibited(a);
        // Its OPEN still held back (the silence or inhibition ended moments ago, not yet
        // dispatched), or held back and never heard while someone acknowledged or shelved it (so
        // no longer watched): it resolved unheard, and nobody hears of its end either.
        boolean openMuted =
                a.state() == AlertState.RESOLVED
                        && (mutedOpen.contains(a.alertId())
                                || (before == AlertStore.Status.ACKNOWLEDGED
                                                || before == AlertStore.Status.SHELVED)
                                        && store.mutedUnheard(a.alertId(), AlertState.OPEN));
        if (!heardOpen && (openMuted || silenced || inhibited)) {
            boolean byInhibition =
                    a.state() == AlertState.RESOLVED
                            ? heldByInhibition.contains(a.alertId())
                            : inhibited;
            (byInhibition ? metrics.inhibited : metrics.silenced).incrementAndGet();
            if (a.state() != AlertState.RESOLVED) {
                if (byInhibition) {
                    heldByInhibition.add(a.alertId());
                } else {
                    heldByInhibition.remove(a.alertId());
                }
            }
            owed.remove(a.alertId());
            if (a.state() == AlertState.RESOLVED) {
                mutedOpen.remove(a.alertId());
                heldByInhibition.remove(a.alertId());
                grouper.withdraw(a.alertId()); // an OPEN nobody heard, waiting in a group
            } else {
                mutedOpen.add(a.alertId());
            }
            store.muted(List.of(a));
            return;
        }
        mutedOpen.remove(a.alertId());
        if (a.state() == AlertState.RESOLVED) {
            sentOpen.remove(a.alertId());
        }
        if (a.state() == AlertState.RESOLVED
                && before != AlertStore.Status.ACKNOWLEDGED
                && before != AlertStore.Status.RESOLVED
                && latching.stream().anyMatch(m -> m.matches(a))) {
            // Held until someone acknowledges: the open state stays in its groups meanwhile, so
            // the repeat interval keeps reminding.
            metrics.latched.incrementAndGet();
            store.status(a.alertId(), AlertStore.Status.LATCHED, "latching rule", now);
            return;
        }
        if (a.state() != AlertState.RESOLVED && before == AlertStore.Status.SHELVED) {
            metrics.shelved.incrementAndGet();
            owed.remove(a.alertId());
            store.notified(List.of(a));
            return;
        }
        if (flap.onTransition(a, now) == FlapDetector.Verdict.SUPPRESS) {
            if (heardOpen) {
                // An episode its receivers were told of (the one that started the flapping) is
                // closed, flapping or not: held back, it stayed open for them for good.
                route(a, now);
                return;
            }
            metrics.flapping.incrementAndGet();
            owed.remove(a.alertId());
            if (a.state() == AlertState.RESOLVED) {
                // Its OPEN, still in the groups, would be repeated as firing for good.
                grouper.withdraw(a.alertId());
            }
            // Held back, not heard: its resolution is not told for it, and an OPEN still open at
            // a restart (which forgets the flapping) is told then.
            store.muted(List.of(a));
            return;
        }
        route(a, now);
    }

    /**
     * An operator acknowledges: a latched alert whose condition already cleared is resolved now,
     * and that is notified.
     */
    public synchronized AlertStore.Status acknowledge(String alertId, String by, long now) {
        AlertStore.Status before = store.statusOf(alertId);
        refuseIfResolved(alertId, before, "acknowledged");
        store.status(alertId, AlertStore.Status.ACKNOWLEDGED, by, now);
        if (before == AlertStore.Status.LATCHED) {
            store.status(alertId, AlertStore.Status.RESOLVED, "acknowledgement of a latch", now);
            Alert resolved = store.alert(alertId);
            route(resolved, now);
        }
        return store.statusOf(alertId);
    }

    /**
     * A person closes an alert the detector will not resolve: a sensor taken out of service keeps
     * its missing-data alert open for good otherwise. It is RESOLVED now, with who closed it and
     * why as its message, and the receivers that heard it open hear it closed (a PagerDuty
     * incident, an andon light). The detector's own resolution, should it come later, is then a
     * repeat and tells nobody; a new episode of the condition is a new alert.
     */
    public synchronized AlertStore.Status closeByHand(
            String alertId, String by, String reason, long now) {
        AlertStore.Status before = store.statusOf(alertId);
        refuseIfResolved(alertId, before, "closed");
        Alert open = store.alert(alertId);
        Alert handClosed =
                new Alert(
                        open.alertId(),
                        open.sensorId(),
                        open.rule(),
                        open.kind(),
                        open.severity(),
                        AlertState.RESOLVED,
                        open.episodeStart(),
                        // Not before its episode began: a sensor's clock may run ahead of ours.
                        Math.max(now, open.eventTime()),
                        now,
                        open.values(),
                        "closed by " + by + (reason.isEmpty() ? "" : ": " + reason),
                        open.unit(),
                        open.limits());
        boolean heard = heardOpen(alertId);
        Alert was = firingNow(alertId);
        try {
            store.closed(
                    handClosed, by + (reason.isEmpty() ? ", closed" : ", closed: " + reason), now);
        } finally {
            firingChanged(was, alertId);
        }
        mutedOpen.remove(alertId);
        heldByInhibition.remove(alertId);
        sentOpen.remove(alertId);
        metrics.closedByHand.incrementAndGet();
        if (heard) {
            route(handClosed, now);
        } else {
            // Nobody heard it open (silenced, or not yet told): nobody waits for its end.
            owed.remove(alertId);
            grouper.withdraw(alertId);
            store.muted(List.of(handClosed));
        }
        return store.statusOf(alertId);
    }

    /** An operator shelves an alert until {@code until}: no notification of it meanwhile. */
    public synchronized void shelve(String alertId, String by, long now, long until) {
        AlertStore.Status st = store.statusOf(alertId);
        refuseIfResolved(alertId, st, "shelved");
        if (st == AlertStore.Status.LATCHED) {
            // Its condition has cleared; it waits for a person. Shelved, it would end RESOLVED
            // when the shelving ran out, unacknowledged and with its resolution never told.
            throw new Conflict(
                    "alert "
                            + alertId
                            + " is LATCHED: its condition has cleared and it waits for an"
                            + " acknowledgement (POST .../ack), which resolves it; it cannot be"
                            + " shelved");
        }
        store.shelve(alertId, by, now, until);
        grouper.withdraw(alertId);
        owed.remove(alertId);
    }

    /**
     * A resolved alert is over: acknowledging or shelving it would make it count as active again
     * (in the API and the metrics) although its condition has cleared and its resolution was told.
     */
    private static void refuseIfResolved(String alertId, AlertStore.Status st, String what) {
        if (st == AlertStore.Status.RESOLVED) {
            throw new Conflict(
                    "alert " + alertId + " is RESOLVED; only an active alert can be " + what);
        }
    }

    /** An operator's change that the alert's current state does not allow (HTTP 409). */
    public static final class Conflict extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Conflict(String message) {
            super(message);
        }
    }

    /**
     * Alert states a silence or an inhibition held back as they came, by alert id, while their
     * alerts stay open: told once nothing holds them back, so a fault that began in a maintenance
     * window and outlasts it is told when the window ends. The journal marks those states ({@link
     * AlertStore#muted}), and {@link #restore} finds them again.
     */
    private final java.util.Set<String> mutedOpen = new java.util.LinkedHashSet<>();

    /** Of {@link #mutedOpen}, those an inhibition held back (not a silence): for the metrics. */
    private final java.util.Set<String> heldByInhibition = new java.util.HashSet<>();

    /**
     * Alerts whose open state was handed to a receiver's thread in this run: it may be delivered
     * (or retried for up to its give-up-after) before the store says it was taken, and a receiver
     * that has it must hear its resolution.
     */
    private final java.util.Set<String> sentOpen = new java.util.HashSet<>();

    /**
     * The open alerts no silence or inhibition holds back any more join their groups, if nobody
     * took them meanwhile.
     */
    private void tellWhatNoLongerHeldBack(long now, List<Silence> silences) {
        Instant t = Instant.ofEpochMilli(now);
        for (var it = mutedOpen.iterator(); it.hasNext(); ) {
            String id = it.next();
            Alert a = store.alert(id);
            if (a != null && (silenced(a, silences, t) || inhibited(a))) {
                continue;
            }
            it.remove();
            heldByInhibition.remove(id);
            // Acknowledged, shelved or latched since, a person has it; resolved, it is over.
            if (a != null
                    && a.state() != AlertState.RESOLVED
                    && store.statusOf(id) == AlertStore.Status.OPEN) {
                route(a, now, store.takenBy(a));
            }
        }
    }

    /**
     * Whether a receiver heard the alert open, or may have: told (and not muted), taken by one of
     * its receivers while others wait, or handed to a receiver's thread in this run.
     */
    private boolean heardOpen(String alertId) {
        if (sentOpen.contains(alertId) || store.heard(alertId, AlertState.OPEN)) {
            return true;
        }
        Alert latest = store.alert(alertId);
        return latest != null
                && latest.state() == AlertState.OPEN
                && !store.takenBy(latest).isEmpty();
    }

    /** Whether no receiver has had {@code a}'s state, nor is about to (on a receiver's thread). */
    private boolean notYetHad(Alert a) {
        return !sentOpen.contains(a.alertId()) && !store.heard(a.alertId(), a.state());
    }

    private static boolean silenced(Alert a, List<Silence> silences, Instant t) {
        return silences.stream().anyMatch(s -> s.mutes(a, t));
    }

    /** Whether a firing alert holds {@code a} back now ({@code inhibit:}). */
    private boolean inhibited(Alert a) {
        if (inhibitions.isEmpty() || a.state() == AlertState.RESOLVED) {
            return false;
        }
        if (holding == null) {
            List<Alert> firing = store.firing();
            List<List<Map<String, Integer>>> h = new ArrayList<>();
            for (Inhibition i : inhibitions) {
                List<Map<String, Integer>> index = Inhibition.emptyIndex();
                firing.forEach(f -> i.count(f, 1, index));
                h.add(index);
            }
            holding = h;
        }
        for (int i = 0; i < inhibitions.size(); i++) {
            if (inhibitions.get(i).holdsBack(a, holding.get(i))) {
                return true;
            }
        }
        return false;
    }

    /**
     * The alert's state if its condition holds (latest state OPEN, not closed by hand), else null:
     * what holds back others ({@link AlertStore#firing}).
     */
    private Alert firingNow(String alertId) {
        if (inhibitions.isEmpty()) {
            return null;
        }
        Alert a = store.alert(alertId);
        return a != null
                        && a.state() == AlertState.OPEN
                        && store.statusOf(alertId) != AlertStore.Status.RESOLVED
                ? a
                : null;
    }

    /** Moves the alert in the inhibitions' index from {@code was} to what it is now. */
    private void firingChanged(Alert was, String alertId) {
        if (holding == null) {
            return; // built from the store when first asked
        }
        Alert now = firingNow(alertId);
        if (java.util.Objects.equals(was, now)) {
            return;
        }
        for (int i = 0; i < inhibitions.size(); i++) {
            if (was != null) {
                inhibitions.get(i).count(was, -1, holding.get(i));
            }
            if (now != null) {
                inhibitions.get(i).count(now, 1, holding.get(i));
            }
        }
    }

    /** Adds or replaces a silence (an expiry replaces it with one that has ended). */
    public synchronized void silence(Silence s) {
        store.silence(s);
    }

    /** Sends what is due at {@code now}; returns when it is handed to the receivers' threads. */
    public synchronized void dispatchDue(long now) {
        for (Undelivered u; (u = undelivered.poll()) != null; ) {
            String receiver = u.sent().receiver();
            flood.refund(u.sent(), u.admittedAt());
            grouper.undelivered(
                    u.due(),
                    now,
                    a -> {
                        Owed o = owed.get(a.alertId());
                        return o != null
                                && o.state() == a.state()
                                && o.receivers().contains(receiver);
                    });
        }
        for (String id : store.shelvingOver(now)) {
            Alert a = store.alert(id);
            AlertStore.Status back =
                    a.state() == AlertState.RESOLVED
                            ? AlertStore.Status.RESOLVED
                            : AlertStore.Status.OPEN;
            store.status(id, back, "end of shelving", now);
            if (back == AlertStore.Status.OPEN) {
                route(a, now);
            }
        }
        List<Silence> silences = store.silences();
        if (!mutedOpen.isEmpty()) {
            tellWhatNoLongerHeldBack(now, silences);
        }
        Instant t = Instant.ofEpochMilli(now);
        // A silence begun after an alert was told mutes its reminders too, as Alertmanager's does.
        // So does an acknowledgement, as alarm management asks: a person has it, and reminding
        // them every repeat interval pages them for what they are already doing. Not an alert
        // acknowledged before it was told at all: the others on its routes have yet to hear of it.
        java.util.function.Predicate<Alert> muted =
                a ->
                        store.statusOf(a.alertId()) == AlertStore.Status.ACKNOWLEDGED
                                        && !owed.containsKey(a.alertId())
                                || !silences.isEmpty() && silenced(a, silences, t)
                                || inhibited(a);
        List<Alert> leftOut = new ArrayList<>();
        List<Notification> dueNow = grouper.due(now, muted, leftOut::add);
        for (Alert a : leftOut) {
            Owed o = owed.get(a.alertId());
            // Not a state some receiver has (or may have, on its way): the silence does not unsay
            // it, and it is reminded of once the silence ends.
            if (o != null && o.state() == a.state() && notYetHad(a) && store.takenBy(a).isEmpty()) {
                // Owed but muted by a silence begun before it was told: watched like one muted as
                // it came, told when the silence ends, not at the next repeat hours later.
                owed.remove(a.alertId());
                mutedOpen.add(a.alertId());
                if (!(!silences.isEmpty() && silenced(a, silences, t))
                        && inhibited(a)
                        && heldByInhibition.add(a.alertId())) {
                    metrics.inhibited.incrementAndGet();
                }
                store.muted(List.of(a));
                grouper.withdraw(a.alertId());
            }
        }
        for (Notification due : dueNow) {
            // A CRITICAL alert its receiver has not had yet passes a flood; its reminders do not.
            boolean urgent =
                    due.alerts().stream()
                            .anyMatch(
                                    a ->
                                            a.severity() == io.plantwatch.model.Severity.CRITICAL
                                                    && a.state() != AlertState.RESOLVED
                                                    && notYetHad(a));
            List<Notification> out = flood.admit(due, now, urgent);
            if (out.isEmpty()) {
                heldByFlood(due, now);
            }
            for (Notification admitted : out) {
                Notification n = charts == null ? admitted : charts.on(admitted);
                Receiver r = receivers.get(n.receiver());
                byte[] body = body(n);
                for (Alert a : n.alerts()) {
                    if (a.state() != AlertState.RESOLVED) {
                        sentOpen.add(a.alertId());
                    }
                }
                lanes.get(n.receiver()).execute(() -> deliver(r, n, body, due, now));
            }
        }
    }

    /**
     * A notification the flood gate held back: its open alerts count as told (visible in the API,
     * reminded at the repeat interval, which is how Alertmanager's repeats work too); a resolution
     * goes back to its group, due again a group interval later, for the receivers told of its OPEN
     * would otherwise keep it open for good.
     */
    private void heldByFlood(Notification due, long now) {
        List<Alert> open =
                due.alerts().stream().filter(a -> a.state() != AlertState.RESOLVED).toList();
        if (open.size() < due.alerts().size()) {
            String receiver = due.receiver();
            grouper.undelivered(
                    due,
                    now,
                    a -> {
                        Owed o = owed.get(a.alertId());
                        return a.state() == AlertState.RESOLVED
                                && o != null
                                && o.state() == a.state()
                                && o.receivers().contains(receiver);
                    });
        }
        taken(
                new Notification(due.id(), due.receiver(), due.groupKey(), due.status(), open),
                due.receiver());
    }

    /**
     * On the receiver's own thread. Only a notification the receiver took counts; one it refused or
     * gave up on goes back to its group at the next {@link #dispatchDue}.
     */
    private void deliver(Receiver r, Notification n, byte[] body, Notification due, long admitted) {
        WebhookReceiver.Outcome o;
        try {
            o = r.deliver(n, body);
        } catch (InterruptedException e) {
            // A stop: what was not delivered stays untold in the store, for the next start.
            Thread.currentThread().interrupt();
            return;
        } catch (RuntimeException e) {
            LOG.error("Receiver {} failed: {}", n.receiver(), e.toString());
            o = WebhookReceiver.Outcome.GAVE_UP;
        }
        if (o == WebhookReceiver.Outcome.DELIVERED) {
            metrics.delivered
                    .computeIfAbsent(n.receiver(), k -> new AtomicLong())
                    .incrementAndGet();
            taken(due, n.receiver());
            return;
        }
        metrics.failed.computeIfAbsent(n.receiver(), k -> new AtomicLong()).incrementAndGet();
        undelivered.add(new Undelivered(due, n, admitted, o));
        LOG.warn(
                "Receiver {} did not take notification {} ({}); its alert states stay untold and are"
                        + " sent again after the group interval",
                n.receiver(),
                n.id(),
                o);
    }

    /** A notification that did not reach its receiver, as it was admitted at {@code admittedAt}. */
    private record Undelivered(
            Notification due,
            Notification sent,
            long admittedAt,
            WebhookReceiver.Outcome outcome) {}

    /**
     * What an alert state still owes its receivers. It counts as told (in the store, so a restart
     * does not send it again) only once every receiver its routes name has taken it or held it back
     * on purpose: one receiver that is down is not told off by another that is up.
     */
    private record Owed(AlertState state, java.util.Set<String> receivers) {}

    /** By alert id, the latest state of each alert while a receiver still waits for it. */
    private final Map<String, Owed> owed = new java.util.HashMap<>();

    /** Joins {@code a} to its routes' groups and owes it to their receivers. */
    private void route(Alert a, long now) {
        route(a, now, java.util.Set.of());
    }

    /** As {@link #route(Alert, long)}, but not to the receivers in {@code had}. */
    private void route(Alert a, long now, java.util.Set<String> had) {
        List<Route> routes =
                root.resolve(a).stream().filter(r -> !had.contains(r.receiver())).toList();
        Owed before = owed.get(a.alertId());
        if (before != null && before.state() == a.state()) {
            // The same state again (a replay): not to a receiver that has it already.
            routes =
                    routes.stream().filter(r -> before.receivers().contains(r.receiver())).toList();
        } else {
            java.util.Set<String> to = new java.util.HashSet<>();
            routes.forEach(r -> to.add(r.receiver()));
            if (to.isEmpty()) {
                owed.remove(a.alertId());
                store.notified(List.of(a)); // no route takes it: nobody to wait for
                return;
            }
            owed.put(a.alertId(), new Owed(a.state(), to));
        }
        grouper.accept(a, routes, now);
    }

    /**
     * {@code receiver} has {@code n}'s alert states: those no receiver waits for any more are told.
     */
    private synchronized void taken(Notification n, String receiver) {
        List<Alert> told = new ArrayList<>();
        List<Alert> others = new ArrayList<>();
        for (Alert a : n.alerts()) {
            Owed o = owed.get(a.alertId());
            if (o != null && o.state() == a.state() && o.receivers().contains(receiver)) {
                (o.receivers().size() == 1 ? told : others).add(a);
            }
        }
        // Written first: should the journal refuse, the state is still owed and sent again.
        if (!told.isEmpty()) {
            store.notified(told);
        }
        if (!others.isEmpty()) {
            // Other receivers still wait: a restart sends it to them, not again to this one.
            store.taken(receiver, others);
        }
        told.forEach(a -> owed.remove(a.alertId()));
        others.forEach(a -> owed.get(a.alertId()).receivers().remove(receiver));
    }

    /** The earliest time something becomes due, -1 if nothing waits. */
    public synchronized long nextDue() {
        return grouper.nextDue();
    }

    /** The notification as its receivers get it. */
    byte[] body(Notification n) {
        return json(n, flap::isFlapping);
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The notification as its receivers get it, {@code flapping} saying which alerts flap. */
    static byte[] json(Notification n, java.util.function.Predicate<Alert> flapping) {
        ObjectNode o = JSON.createObjectNode();
        o.put("id", n.id()).put("receiver", n.receiver()).put("group", n.groupKey());
        o.put("status", n.status().name());
        if (n.status() == Notification.Status.SUMMARY) {
            o.put(
                    "text",
                    "Flood limit reached for "
                            + n.receiver()
                            + ": further notifications in this window are held; open alerts are"
                            + " listed in the alerting API.");
        }
        ArrayNode alerts = o.putArray("alerts");
        for (Alert a : n.alerts()) {
            ObjectNode x = alerts.addObject();
            x.put("alert_id", a.alertId());
            x.put("sensor", a.sensorId().id());
            x.put("site", a.sensorId().site()).put("area", a.sensorId().area());
            x.put("line", a.sensorId().line()).put("machine", a.sensorId().machine());
            x.put("rule", a.rule()).put("kind", a.kind().name());
            x.put("severity", a.severity().name()).put("state", a.state().name());
            x.put("flapping", flapping.test(a));
            x.put("episode_start", Instant.ofEpochMilli(a.episodeStart()).toString());
            x.put("event_time", Instant.ofEpochMilli(a.eventTime()).toString());
            x.put("message", a.message());
            AlertDetail.put(x, a);
            if (n.chart(a) != null) {
                x.put("chart_url", n.chart(a));
            }
        }
        try {
            return JSON.writeValueAsBytes(o);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public Metrics metrics() {
        return metrics;
    }

    public java.util.Set<String> receiverNames() {
        return receivers.keySet();
    }

    /** Notifications the flood limit held back for {@code receiver} since the start. */
    public long floodHeld(String receiver) {
        synchronized (metrics) {
            return Metrics.get(metrics.floodHeldBefore, receiver)
                    + (closed ? 0 : flood.held(receiver));
        }
    }

    /** Failed delivery attempts of {@code receiver} so far, retries included. */
    public long failedAttempts(String receiver) {
        Receiver r = receivers.get(receiver);
        synchronized (metrics) {
            return Metrics.get(metrics.failedAttemptsBefore, receiver)
                    + (r == null || closed ? 0 : r.failedAttempts());
        }
    }

    /** Notifications waiting in groups, for the metrics endpoint. */
    public synchronized int pendingGroups() {
        return grouper.size();
    }

    /**
     * Lets queued deliveries finish, all within {@code seconds}, then stops the receivers' threads.
     * What is left is not lost: an alert state counts as told only once a receiver took it, and
     * {@link #restore} queues the rest at the next start; the log says how many and for whom.
     */
    public void drain(long seconds) throws InterruptedException {
        for (ExecutorService lane : lanes.values()) {
            lane.shutdown();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        List<String> busy = new ArrayList<>();
        for (Map.Entry<String, ExecutorService> lane : lanes.entrySet()) {
            long left = Math.max(0, deadline - System.nanoTime());
            if (!lane.getValue().awaitTermination(left, TimeUnit.NANOSECONDS)) {
                busy.add(lane.getKey());
            }
        }
        if (!busy.isEmpty()) {
            lanes.values().forEach(ExecutorService::shutdownNow);
            LOG.warn(
                    "Stopping with {} alert state(s) not yet told; receiver(s) {} still"
                            + " delivering or retrying after {} s. They are sent at the next"
                            + " start.",
                    store.unnotified().size(),
                    busy,
                    seconds);
        }
    }

    @Override
    public void close() {
        lanes.values().forEach(ExecutorService::shutdownNow);
        // A receiver's open connection outlived its service: an alerting restart for a changed
        // file left one per MQTT receiver, for good when the new file no longer had it.
        receivers.values().forEach(Receiver::close);
        // Handed on to the next dispatcher with the metrics, counted once: a reading sees either
        // this dispatcher's counts or the sum they went into.
        synchronized (metrics) {
            if (closed) {
                return;
            }
            receivers.forEach(
                    (name, r) ->
                            metrics.failedAttemptsBefore
                                    .computeIfAbsent(name, k -> new AtomicLong())
                                    .addAndGet(r.failedAttempts()));
            receivers
                    .keySet()
                    .forEach(
                            name ->
                                    metrics.floodHeldBefore
                                            .computeIfAbsent(name, k -> new AtomicLong())
                                            .addAndGet(flood.held(name)));
            closed = true;
        }
    }
}
