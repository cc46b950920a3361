package io.plantwatch.alerting;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.plantwatch.model.Alert;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service's decisions, in order: store the event; a silenced or flapping transition is recorded
 * and not notified; otherwise it joins its routes' groups. Due notifications pass the flood gate
 * and go to their receivers, each on its own thread so a receiver that is down delays only itself;
 * once a receiver has the notification, its alert states are marked notified in the store.
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
    private final Supplier<List<Silence>> silences;
    private final ObjectMapper json = new ObjectMapper();
    private final AtomicLong silenced = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();

    public Dispatcher(
            AlertStore store,
            Route root,
            Map<String, Receiver> receivers,
            FloodGate flood,
            FlapDetector flap,
            Supplier<List<Silence>> silences) {
        this.store = store;
        this.root = root;
        this.receivers = Map.copyOf(receivers);
        this.flood = flood;
        this.flap = flap;
        this.silences = silences;
        receivers
                .keySet()
                .forEach(
                        name ->
                                lanes.put(
                                        name,
                                        Executors.newSingleThreadExecutor(
                                                r -> new Thread(r, "receiver-" + name))));
    }

    /** After a restart: what the store has that no receiver was told joins the groups again. */
    public synchronized void restore(long now) {
        List<Alert> pending = store.unnotified();
        pending.forEach(a -> grouper.accept(a, root.resolve(a), now));
        if (!pending.isEmpty()) {
            LOG.info(
                    "{} alert states not yet notified before the restart are queued",
                    pending.size());
        }
    }

    /** One alert event from Kafka at (partition, offset). */
    public synchronized void onEvent(Alert a, int partition, long offset, long now) {
        if (store.wasNotified(a)) {
            store.event(a, partition, offset, now); // a duplicate: keep the position, tell nobody
            return;
        }
        store.event(a, partition, offset, now);
        Instant t = Instant.ofEpochMilli(now);
        if (silences.get().stream().anyMatch(s -> s.mutes(a, t))) {
            silenced.incrementAndGet();
            store.notified(List.of(a));
            return;
        }
        if (flap.onTransition(a, now) == FlapDetector.Verdict.SUPPRESS) {
            store.notified(List.of(a));
            return;
        }
        grouper.accept(a, root.resolve(a), now);
    }

    /** Sends what is due at {@code now}; returns when it is handed to the receivers' threads. */
    public synchronized void dispatchDue(long now) {
        for (Notification due : grouper.due(now)) {
            List<Notification> out = flood.admit(due, now);
            if (out.isEmpty()) {
                store.notified(due.alerts()); // held back by the flood gate; visible in the API
            }
            for (Notification n : out) {
                Receiver r = receivers.get(n.receiver());
                byte[] body = body(n);
                lanes.get(n.receiver())
                        .execute(
                                () -> {
                                    try {
                                        WebhookReceiver.Outcome o = r.deliver(n, body);
                                        if (o != WebhookReceiver.Outcome.DELIVERED) {
                                            failed.incrementAndGet();
                                        }
                                        store.notified(due.alerts());
                                    } catch (InterruptedException e) {
                                        Thread.currentThread().interrupt();
                                    } catch (RuntimeException e) {
                                        failed.incrementAndGet();
                                        LOG.error(
                                                "Receiver {} failed: {}",
                                                n.receiver(),
                                                e.toString());
                                    }
                                });
            }
        }
    }

    /** The earliest time something becomes due, -1 if nothing waits. */
    public synchronized long nextDue() {
        return grouper.nextDue();
    }

    /** The notification as its receivers get it. */
    byte[] body(Notification n) {
        ObjectNode o = json.createObjectNode();
        o.put("id", n.id()).put("receiver", n.receiver()).put("group", n.groupKey());
        o.put("status", n.status().name());
        if (n.status() == Notification.Status.SUMMARY) {
            o.put("suppressed", n.suppressed());
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
            x.put("flapping", flap.isFlapping(a));
            x.put("episode_start", Instant.ofEpochMilli(a.episodeStart()).toString());
            x.put("event_time", Instant.ofEpochMilli(a.eventTime()).toString());
            x.put("message", a.message());
        }
        try {
            return json.writeValueAsBytes(o);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public long silencedCount() {
        return silenced.get();
    }

    public long failedCount() {
        return failed.get();
    }

    /** Lets queued deliveries finish (up to {@code seconds}), then stops the receivers' threads. */
    public void drain(long seconds) throws InterruptedException {
        for (ExecutorService lane : lanes.values()) {
            lane.shutdown();
        }
        for (ExecutorService lane : lanes.values()) {
            lane.awaitTermination(seconds, TimeUnit.SECONDS);
        }
    }

    @Override
    public void close() {
        lanes.values().forEach(ExecutorService::shutdownNow);
    }
}
