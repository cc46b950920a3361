package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

class AlertStoreTest {
    @TempDir Path dir;

    private static Alert alert(String id, AlertState state) {
        return new Alert(
                id,
                SensorId.parse("dresden/press-shop/line-1/press-1/oil-temp"),
                "spike",
                AlertKind.SPIKE,
                Severity.CRITICAL,
                state,
                1_000,
                state == AlertState.OPEN ? 1_000 : 5_000,
                6_000,
                List.of(60.0, 80.5),
                "oil-temp rose 20.5 degC \"fast\"");
    }

    /**
     * A state a silence held back counts as notified (a restart does not send it) but not as heard,
     * through a restart and a compaction; told later, it is heard.
     */
    @Test
    void aMutedStateIsNotifiedButNotHeardThroughARestartAndACompaction() throws Exception {
        try (AlertStore store = new AlertStore(dir)) {
            store.event(alert("a", AlertState.OPEN), 0, 0, 100);
            store.event(alert("b", AlertState.OPEN), 0, 1, 100);
            store.muted(List.of(alert("a", AlertState.OPEN)));
            store.notified(List.of(alert("b", AlertState.OPEN)));
            for (int i = 0; i < 1_100; i++) {
                store.event(alert("c", AlertState.OPEN), 0, 2 + i, 200 + i);
            }
            store.notified(List.of(alert("c", AlertState.OPEN)));
        }
        long before = Files.size(dir.resolve("alerts.journal"));
        try (AlertStore store = new AlertStore(dir)) {
            assertThat(Files.size(dir.resolve("alerts.journal")))
                    .as("compacted")
                    .isLessThan(before);
            assertThat(store.unnotified()).isEmpty();
            assertThat(store.mutedOpen()).extracting(Alert::alertId).containsExactly("a");
            assertThat(store.heard("a", AlertState.OPEN)).isFalse();
            assertThat(store.heard("b", AlertState.OPEN)).isTrue();
            store.notified(List.of(alert("a", AlertState.OPEN)));
            // A silence begun since does not unsay what was heard, nor what a receiver took.
            store.muted(List.of(alert("b", AlertState.OPEN)));
            store.event(alert("d", AlertState.OPEN), 0, 2_000, 300);
            store.taken("shift-lead", List.of(alert("d", AlertState.OPEN)));
            store.muted(List.of(alert("d", AlertState.OPEN)));
            assertThat(store.takenBy(alert("d", AlertState.OPEN))).containsExactly("shift-lead");
        }
        try (AlertStore store = new AlertStore(dir)) {
            assertThat(store.heard("a", AlertState.OPEN)).isTrue();
            assertThat(store.heard("b", AlertState.OPEN)).isTrue();
            assertThat(store.takenBy(alert("d", AlertState.OPEN))).containsExactly("shift-lead");
            assertThat(store.mutedOpen()).extracting(Alert::alertId).containsExactly("d");
        }
    }

    /**
     * A second store on a folder whose store is open is refused with what to do, and writes
     * nothing: two services on one journal corrupted it and notified everything twice. Once the
     * first is closed, the folder opens again.
     */
    @Test
    void aSecondStoreOnAnOpenStoresFolderIsRefusedAndChangesNothing() throws Exception {
        try (AlertStore first = new AlertStore(dir)) {
            first.event(alert("a", AlertState.OPEN), 0, 0, 100);
            long size = Files.size(dir.resolve("alerts.journal"));
            assertThatThrownBy(() -> new AlertStore(dir))
                    .isInstanceOf(io.plantwatch.model.ConfigException.class)
                    .hasMessageContaining("Another alerting service is using the alert store")
                    .hasMessageContaining("store.dir");
            // The refusal freed nothing: asked again, the folder is still held.
            assertThatThrownBy(() -> new AlertStore(dir))
                    .isInstanceOf(io.plantwatch.model.ConfigException.class);
            assertThat(Files.size(dir.resolve("alerts.journal"))).isEqualTo(size);
            first.event(alert("b", AlertState.OPEN), 0, 1, 101);
        }
        try (AlertStore again = new AlertStore(dir)) {
            assertThat(again.all()).hasSize(2);
        }
    }

    /**
     * The leader epoch of each partition's last applied record outlives a restart and a compaction,
     * so the consumer can ask Kafka whether its log still holds it. A resume (Kafka lost or deleted
     * the records up to there) moves the position without an epoch.
     */
    @Test
    void positionsKeepTheirLeaderEpochThroughACompactionAndAResumeForgetsIt() throws Exception {
        try (AlertStore store = new AlertStore(dir)) {
            for (int i = 0; i < 1_100; i++) {
                store.event(alert("a", AlertState.OPEN), 0, i, Optional.of(3), 100 + i);
            }
            store.event(alert("b", AlertState.OPEN), 1, 40, Optional.of(2), 2_000);
            store.event(alert("c", AlertState.OPEN), 2, 9, 2_001);
            store.resume(1, 25);
        }
        long before = Files.size(dir.resolve("alerts.journal"));
        try (AlertStore store = new AlertStore(dir)) {
            assertThat(Files.size(dir.resolve("alerts.journal")))
                    .as("compacted")
                    .isLessThan(before);
            assertThat(store.nextOffsets()).isEqualTo(Map.of(0, 1_100L, 1, 25L, 2, 10L));
            assertThat(store.epochs()).isEqualTo(Map.of(0, 3));
        }
    }

    /**
     * The Kafka loop's records of one poll are forced to disk once, at the batch's end (the first
     * batch in a journal forces its marker first); another thread's write meanwhile (the API, a
     * receiver's thread) is forced at once, and with it what the batch had written.
     */
    @Test
    void aBatchIsForcedOnceAtItsEndAndAnotherThreadsWriteAtOnce() throws Exception {
        try (AlertStore store = new AlertStore(dir)) {
            long before = store.forces();
            store.beginBatch();
            for (int i = 0; i < 500; i++) {
                store.event(alert("a" + i, AlertState.OPEN), 0, i, 100 + i);
            }
            store.notified(List.of(alert("a0", AlertState.OPEN)));
            assertThat(store.forces()).as("the first marker").isEqualTo(before + 1);
            store.endBatch();
            assertThat(store.forces()).isEqualTo(before + 2);

            store.beginBatch();
            store.event(alert("b", AlertState.OPEN), 0, 500, 700);
            assertThat(store.forces()).as("its marker goes with its records").isEqualTo(before + 2);
            Thread api =
                    new Thread(() -> store.status("a1", AlertStore.Status.ACKNOWLEDGED, "x", 8));
            api.start();
            api.join();
            assertThat(store.forces()).as("the API's write").isEqualTo(before + 3);
            store.endBatch();
            assertThat(store.forces()).as("nothing left to force").isEqualTo(before + 3);

            store.event(alert("c", AlertState.OPEN), 0, 501, 900);
            assertThat(store.forces()).as("no batch: forced at once").isEqualTo(before + 4);
        }
        try (AlertStore store = new AlertStore(dir)) {
            assertThat(store.nextOffsets()).isEqualTo(Map.of(0, 502L));
            assertThat(store.wasNotified(alert("a0", AlertState.OPEN))).isTrue();
            assertThat(store.statusOf("a1")).isEqualTo(AlertStore.Status.ACKNOWLEDGED);
            assertThat(store.alert("b")).isNotNull();
        }
    }

    /**
     * A power cut during a batch can keep one of its pages from the disk while later ones got
     * there: the lines from the hole on are not applied, so the partition's position stays before
     * the events lost in it and Kafka gives them again, also when the batch's own marker is in the
     * hole. The same hole in an earlier batch, one a later batch follows, is old damage: set aside,
     * and the lines after it applied.
     */
    @Test
    void aHoleInTheLastBatchCutsTheJournalThereAndOneInAnEarlierBatchIsSetAside() throws Exception {
        try (AlertStore store = new AlertStore(dir)) {
            for (int b = 0; b < 2; b++) {
                store.beginBatch();
                for (int i = 3 * b; i < 3 * b + 3; i++) {
                    store.event(alert("a" + i, AlertState.OPEN), 0, i, 100 + i);
                }
                store.endBatch();
            }
        }
        Path journal = dir.resolve("alerts.journal");
        List<String> written = Files.readAllLines(journal);
        String marker = "{\"t\":\"batch\"}";
        // Each batch's, the first one forced before its records.
        assertThat(written).hasSize(8).filteredOn(marker::equals).hasSize(2);
        int second = written.lastIndexOf(marker);

        // The second batch's first page never written: its marker and first event.
        List<String> cut = new java.util.ArrayList<>(written);
        cut.set(second, "\0".repeat(written.get(second).length()));
        cut.set(second + 1, "\0".repeat(written.get(second + 1).length()));
        Files.write(journal, cut);
        long applied = written.subList(0, second).stream().mapToLong(l -> l.length() + 1).sum();
        try (AlertStore store = new AlertStore(dir)) {
            assertThat(store.nextOffsets()).as("before the hole").isEqualTo(Map.of(0, 3L));
            assertThat(store.all())
                    .extracting(e -> e.alert().alertId())
                    .containsExactly("a0", "a1", "a2");
            assertThat(store.badLines()).isZero();
            assertThat(Files.size(journal)).as("cut there").isEqualTo(applied);
        }
        assertThat(Files.readString(dir.resolve("alerts.journal.bad")))
                .contains(
                        "line " + (second + 1) + " ",
                        "line " + (second + 3) + " ",
                        written.get(second + 3) + "\n");

        // A hole in the first batch, with a batch after it: old damage, set aside.
        Files.delete(dir.resolve("alerts.journal.bad"));
        cut = new java.util.ArrayList<>(written);
        int a1 =
                written.indexOf(
                        written.stream().filter(l -> l.contains("\"a1\"")).findFirst().get());
        cut.set(a1, "\0".repeat(written.get(a1).length()));
        Files.write(journal, cut);
        try (AlertStore store = new AlertStore(dir)) {
            assertThat(store.nextOffsets()).isEqualTo(Map.of(0, 6L));
            assertThat(store.all())
                    .extracting(e -> e.alert().alertId())
                    .containsExactly("a0", "a2", "a3", "a4", "a5");
            assertThat(store.badLines()).isEqualTo(1);
        }
        assertThat(Files.readString(dir.resolve("alerts.journal.bad")))
                .contains("line " + (a1 + 1) + " ")
                .doesNotContain("\"a2\"");
    }

    @Test
    void aRestartKeepsStatesOffsetsAndWhatWasNotifiedAndIgnoresATornLastLine() throws Exception {
        try (AlertStore store = new AlertStore(dir)) {
            store.event(alert("a", AlertState.OPEN), 0, 10, 100);
            store.event(alert("b", AlertState.OPEN), 1, 4, 101);
            store.notified(List.of(alert("a", AlertState.OPEN)));
            store.status("a", AlertStore.Status.ACKNOWLEDGED, "maria", 102);
            store.event(alert("a", AlertState.RESOLVED), 0, 11, 103);
        }
        Files.writeString(
                dir.resolve("alerts.journal"),
                "{\"t\":\"event\",\"parti",
                StandardOpenOption.APPEND);

        try (AlertStore store = new AlertStore(dir)) {
            assertThat(store.nextOffsets()).isEqualTo(Map.of(0, 12L, 1, 5L));
            assertThat(store.unnotified())
                    .extracting(a -> a.alertId() + ":" + a.state())
                    .containsExactly("a:RESOLVED", "b:OPEN");
            AlertStore.Entry a = store.all().get(0);
            assertThat(a.alert()).isEqualTo(alert("a", AlertState.RESOLVED));
            assertThat(a.status()).isEqualTo(AlertStore.Status.RESOLVED);
            assertThat(a.history())
                    .containsExactly(
                            "1970-01-01T00:00:00.100Z OPEN",
                            "1970-01-01T00:00:00.102Z ACKNOWLEDGED by maria",
                            "1970-01-01T00:00:00.103Z RESOLVED");
            assertThat(store.all().get(1).status()).isEqualTo(AlertStore.Status.OPEN);
            // Written after the torn line was cut: readable on the next start.
            store.notified(List.of(alert("b", AlertState.OPEN)));
        }
        try (AlertStore store = new AlertStore(dir)) {
            assertThat(store.unnotified()).extracting(Alert::alertId).containsExactly("a");
        }
    }

    /**
     * A line in the middle that cannot be read (a damaged disk block, a hand edit, a record this
     * version does not know) is no torn tail: it is named by its number, kept in
     * alerts.journal.bad, counted, and every line after it is applied. The journal is rewritten
     * without it, so the next start sets nothing aside again.
     */
    @Test
    void aBadLineInTheMiddleIsNamedSetAsideAndTheLinesAfterItAreApplied() throws Exception {
        try (AlertStore store = new AlertStore(dir)) {
            store.event(alert("a", AlertState.OPEN), 0, 10, 100);
            store.event(alert("b", AlertState.OPEN), 0, 11, 101);
            store.event(alert("c", AlertState.OPEN), 0, 12, 102);
            store.notified(List.of(alert("c", AlertState.OPEN)));
        }
        Path journal = dir.resolve("alerts.journal");
        List<String> lines = new java.util.ArrayList<>(Files.readAllLines(journal));
        // A block zeroed in the middle of line 2, as a damaged disk returns it.
        String damaged =
                lines.get(1).substring(0, 20) + "\0".repeat(16) + lines.get(1).substring(36);
        lines.set(1, damaged);
        String unknown = "{\"t\":\"from-a-later-version\"}";
        lines.add(3, unknown);
        Files.write(journal, lines);
        Files.writeString(journal, "{\"t\":\"notif", StandardOpenOption.APPEND);

        ListAppender<ILoggingEvent> log = new ListAppender<>();
        log.start();
        Logger storeLog = (Logger) LoggerFactory.getLogger(AlertStore.class);
        storeLog.addAppender(log);
        try (AlertStore store = new AlertStore(dir)) {
            assertThat(store.all()).extracting(e -> e.alert().alertId()).containsExactly("a", "c");
            assertThat(store.nextOffsets()).isEqualTo(Map.of(0, 13L));
            assertThat(store.unnotified()).extracting(Alert::alertId).containsExactly("a");
            assertThat(store.badLines()).isEqualTo(2);
        } finally {
            storeLog.detachAppender(log);
        }
        List<String> logged = log.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
        assertThat(logged)
                .anySatisfy(m -> assertThat(m).contains("line 2 ", "alerts.journal.bad"))
                .anySatisfy(m -> assertThat(m).contains("line 4 ", "alerts.journal.bad"))
                .filteredOn(m -> m.contains("torn"))
                .singleElement()
                .satisfies(m -> assertThat(m).contains("11 bytes", "after line 5"));
        Path bad = dir.resolve("alerts.journal.bad");
        String setAside = Files.readString(bad);
        assertThat(setAside).contains("line 2 ", damaged + "\n", "line 4 ", unknown + "\n");

        try (AlertStore store = new AlertStore(dir)) {
            assertThat(store.badLines()).isZero();
            assertThat(store.all()).extracting(e -> e.alert().alertId()).containsExactly("a", "c");
            assertThat(store.unnotified()).extracting(Alert::alertId).containsExactly("a");
        }
        assertThat(Files.readString(bad)).isEqualTo(setAside);
    }

    /**
     * Silences the API took before it checked their values can be in an old journal; the store must
     * still open (else alerting would not start), without them.
     */
    @Test
    void aSilenceInTheJournalThatIsNoLongerValidIsDroppedNotFatal() throws Exception {
        try (AlertStore store = new AlertStore(dir)) {
            store.event(alert("a", AlertState.OPEN), 0, 10, 100);
        }
        Files.writeString(
                dir.resolve("alerts.journal"),
                "{\"t\":\"silence\",\"silence\":{\"id\":\"old\",\"starts_at\":"
                        + "\"2026-01-01T00:00:00Z\",\"ends_at\":\"2027-01-01T00:00:00Z\","
                        + "\"created_by\":\"api\",\"comment\":\"\",\"match\":{\"severity\":"
                        + "[\"CRIT\"]},\"sensors\":[]}}\n",
                StandardOpenOption.APPEND);
        try (AlertStore store = new AlertStore(dir)) {
            assertThat(store.silences()).isEmpty();
            assertThat(store.nextOffsets()).isEqualTo(Map.of(0, 11L));
        }
    }

    /**
     * An alert's unit and limits survive a restart and a compaction in their order; an alert the
     * journal holds from before they existed reads back without them.
     */
    @Test
    void anAlertsUnitAndLimitsSurviveARestartAndACompactionAndOldLinesReadWithout()
            throws Exception {
        Map<String, Double> limits = new java.util.LinkedHashMap<>();
        limits.put("rise", 8.0);
        limits.put("within_s", 30.0);
        limits.put("confirm", 1.0);
        Alert detailed = alert("a", AlertState.OPEN).withDetail("degC", limits);
        try (AlertStore store = new AlertStore(dir)) {
            store.event(detailed, 0, 0, 100);
            store.event(alert("old", AlertState.OPEN), 0, 1, 100);
        }
        // "old" as a journal written before alerts had a unit and limits.
        Path journal = dir.resolve("alerts.journal");
        String lines = Files.readString(journal);
        String old = lines.lines().filter(l -> l.contains("\"old\"")).findFirst().orElseThrow();
        assertThat(old).contains(",\"unit\":\"\",\"limits\":{}");
        // ... and "a" as a later version, with a field this one does not know.
        String a = lines.lines().filter(l -> l.contains("\"a\"")).findFirst().orElseThrow();
        Files.writeString(
                journal,
                lines.replace(old, old.replace(",\"unit\":\"\",\"limits\":{}", ""))
                        .replace(a, a.replace("\"unit\":", "\"colour\":\"red\",\"unit\":")));
        try (AlertStore store = new AlertStore(dir)) {
            assertThat(store.alert("a")).isEqualTo(detailed);
            assertThat(store.alert("a").limits().keySet())
                    .containsExactly("rise", "within_s", "confirm");
            assertThat(store.alert("old").unit()).isEmpty();
            assertThat(store.alert("old").limits()).isEmpty();
            // A resolution that does not say them keeps its OPEN's.
            store.event(alert("a", AlertState.RESOLVED), 0, 2, 150);
            assertThat(store.alert("a").state()).isEqualTo(AlertState.RESOLVED);
            assertThat(store.alert("a").limits()).isEqualTo(limits);
            for (int i = 0; i < 1_100; i++) {
                store.event(alert("c", AlertState.OPEN), 0, 3 + i, 200 + i);
            }
        }
        try (AlertStore store = new AlertStore(dir)) {
            assertThat(store.alert("a").limits().keySet())
                    .containsExactly("rise", "within_s", "confirm");
            assertThat(store.alert("a").unit()).isEqualTo("degC");
            assertThat(Files.exists(dir.resolve("alerts.journal.bad"))).isFalse();
        }
    }

    @Test
    void historyLinesCarryIsoTimesAlsoFromAJournalCompactedBeforeThey() throws Exception {
        try (AlertStore store = new AlertStore(dir)) {
            store.event(alert("a", AlertState.OPEN), 0, 10, 1_796_488_633_830L);
            store.event(alert("b", AlertState.OPEN), 0, 11, 1_796_488_600_000L);
        }
        // A compacted history record as written before (epoch milliseconds); it replaces the
        // history of the event before it, as compaction wrote them in that order.
        Files.writeString(
                dir.resolve("alerts.journal"),
                "{\"t\":\"history\",\"alertId\":\"b\",\"lines\":[\"1796488633830 OPEN\"]}\n",
                StandardOpenOption.APPEND);
        try (AlertStore store = new AlertStore(dir)) {
            assertThat(store.all().get(0).history())
                    .containsExactly("2026-12-05T16:37:13.830Z OPEN");
            store.event(alert("b", AlertState.OPEN), 0, 12, 1_796_488_633_831L);
            assertThat(store.all().get(1).history())
                    .containsExactly(
                            "2026-12-05T16:37:13.830Z OPEN", "2026-12-05T16:37:13.831Z OPEN");
        }
    }

    @Test
    void aLongJournalIsCompactedToTheSameStateOnStart() throws Exception {
        Silence window =
                new Silence(
                        "w",
                        List.of(),
                        Map.of("line", List.of("line-1")),
                        java.time.Instant.ofEpochMilli(0),
                        java.time.Instant.parse("2027-01-01T00:00:00Z"),
                        null,
                        "maria",
                        "");
        long offset = 0;
        try (AlertStore store = new AlertStore(dir)) {
            for (int round = 0; round < 300; round++) {
                for (String id : List.of("a", "b", "c")) {
                    store.event(alert(id, AlertState.OPEN), 0, offset++, 100 + round);
                    store.event(alert(id, AlertState.RESOLVED), 0, offset++, 100 + round);
                }
            }
            store.event(alert("a", AlertState.OPEN), 1, 7, 500);
            store.notified(List.of(alert("a", AlertState.OPEN)));
            store.shelve("a", "jan", 501, 9_000);
            store.status("b", AlertStore.Status.LATCHED, "latching rule", 502);
            store.silence(window);
            store.event(alert("d", AlertState.OPEN), 1, 8, 503);
            store.notified(List.of(alert("d", AlertState.OPEN)));
            store.event(alert("d", AlertState.RESOLVED), 1, 9, 504);
            store.notified(List.of(alert("d", AlertState.RESOLVED)));
        }
        long before = Files.size(dir.resolve("alerts.journal"));
        List<AlertStore.Entry> expected;
        try (AlertStore store = new AlertStore(dir, java.time.Duration.ofDays(30), 10_000)) {
            expected = store.all();
            assertThat(Files.size(dir.resolve("alerts.journal"))).isLessThan(before / 10);
            assertThat(store.nextOffsets()).isEqualTo(Map.of(0, offset, 1, 10L));
            // Both of d's states stay told: a late repeat of its OPEN is no news.
            assertThat(store.wasNotified(alert("d", AlertState.OPEN))).isTrue();
            assertThat(store.wasNotified(alert("d", AlertState.RESOLVED))).isTrue();
            assertThat(store.statusOf("a")).isEqualTo(AlertStore.Status.SHELVED);
            assertThat(store.shelvedUntil("a")).isEqualTo(9_000);
            assertThat(store.statusOf("b")).isEqualTo(AlertStore.Status.LATCHED);
            // a was told and is shelved, b is latched: only c's resolution is still to tell.
            assertThat(store.unnotified()).extracting(Alert::alertId).containsExactly("c");
        }
        try (AlertStore store = new AlertStore(dir, Duration.ofDays(30), 10_000)) {
            assertThat(store.all()).isEqualTo(expected);
            assertThat(store.silences()).containsExactly(window);
        }
    }

    @Test
    void compactionDropsResolvedAlertsOlderThanTheRetention() throws Exception {
        try (AlertStore store = new AlertStore(dir)) {
            for (int i = 0; i < 1200; i++) {
                store.event(
                        alert("old", i % 2 == 0 ? AlertState.OPEN : AlertState.RESOLVED), 0, i, i);
            }
            store.notified(List.of(alert("old", AlertState.RESOLVED)));
            store.event(alert("open", AlertState.OPEN), 0, 1200, 1200);
            // Its resolution never reached a receiver: told at the next start, so kept.
            store.event(alert("untold", AlertState.RESOLVED), 0, 1201, 1201);
        }
        try (AlertStore store = new AlertStore(dir, Duration.ofDays(1), 10 * DAY)) {
            assertThat(store.all())
                    .extracting(e -> e.alert().alertId())
                    .containsExactly("open", "untold");
            assertThat(store.nextOffsets()).isEqualTo(Map.of(0, 1202L));
        }
    }

    private static final long DAY = 86_400_000L;

    /** An alert's life as the service records it: OPEN, told, RESOLVED a minute later, told. */
    private static void lived(AlertStore store, String id, long offset, long at) {
        store.event(alert(id, AlertState.OPEN), 0, offset, at);
        store.notified(List.of(alert(id, AlertState.OPEN)));
        store.event(alert(id, AlertState.RESOLVED), 0, offset + 1, at + 60_000);
        store.notified(List.of(alert(id, AlertState.RESOLVED)));
    }

    /** Alerts old-0 to old-999, opened and resolved on day 1, told; returns the next offset. */
    private static long thousandOld(AlertStore store) {
        for (int i = 0; i < 1000; i++) {
            lived(store, "old-" + i, 2L * i, DAY + i);
        }
        return 2000;
    }

    private static List<String> ids(AlertStore store) {
        return store.all().stream().map(e -> e.alert().alertId()).toList();
    }

    /**
     * An alert writes about four records, so a journal of a steady stream never grew past four
     * records per alert plus 1,000, the only time it was compacted, and resolved alerts stayed for
     * the life of the journal (a soak: ~460k alerts, ~0.5 GB of heap, at 30 days). A start forgets
     * the resolved alerts told more than the retention ago, whatever the journal's size.
     */
    @Test
    void aStartForgetsResolvedAlertsToldMoreThanTheRetentionAgo() throws Exception {
        try (AlertStore store = new AlertStore(dir, Duration.ofDays(30), 0)) {
            // Ten a day for 40 days.
            for (int i = 0; i < 400; i++) {
                lived(store, "a" + i, 2L * i, i * DAY / 10);
            }
        }
        try (AlertStore store = new AlertStore(dir, Duration.ofDays(30), 40 * DAY)) {
            assertThat(ids(store)).hasSize(300).first().isEqualTo("a100");
            assertThat(store.nextOffsets()).isEqualTo(Map.of(0, 800L));
            assertThat(store.expired()).isEqualTo(100);
        }
    }

    /**
     * While it runs, the store forgets the resolved alerts told more than the retention ago, and
     * nothing else however old: an open, acknowledged, shelved or latched alert, or a resolution
     * not yet told. An alert latched for weeks and acknowledged yesterday is a day old. Once most
     * of the journal is records of what it forgot, the journal is rewritten as the state, and
     * writes after that land.
     */
    @Test
    void aRunningStoreForgetsOnlyToldResolvedAlertsPastTheRetentionAndCompacts() throws Exception {
        Path journal = dir.resolve("alerts.journal");
        Silence ended = silence("ended", DAY, 2 * DAY);
        Silence active = silence("active", DAY, 100 * DAY);
        long offset = 0;
        try (AlertStore store = new AlertStore(dir, Duration.ofDays(30), 0)) {
            offset = thousandOld(store);
            store.event(alert("open", AlertState.OPEN), 0, offset++, DAY);
            store.notified(List.of(alert("open", AlertState.OPEN)));
            store.event(alert("acknowledged", AlertState.OPEN), 0, offset++, DAY);
            store.status("acknowledged", AlertStore.Status.ACKNOWLEDGED, "maria", DAY);
            store.event(alert("shelved", AlertState.OPEN), 0, offset++, DAY);
            store.shelve("shelved", "jan", DAY, 100 * DAY);
            store.event(alert("latched", AlertState.OPEN), 0, offset++, DAY);
            store.event(alert("latched", AlertState.RESOLVED), 0, offset++, DAY);
            store.status("latched", AlertStore.Status.LATCHED, "latching rule", DAY);
            store.event(alert("untold", AlertState.RESOLVED), 0, offset++, DAY);
            store.event(alert("acked-late", AlertState.OPEN), 0, offset++, DAY);
            store.event(alert("acked-late", AlertState.RESOLVED), 0, offset++, DAY);
            store.status("acked-late", AlertStore.Status.LATCHED, "latching rule", DAY);
            store.status("acked-late", AlertStore.Status.ACKNOWLEDGED, "maria", 39 * DAY);
            store.status("acked-late", AlertStore.Status.RESOLVED, "acknowledgement", 39 * DAY);
            store.notified(List.of(alert("acked-late", AlertState.RESOLVED)));
            store.silence(ended);
            store.silence(active);
            long before = Files.size(journal);

            assertThat(store.expire(20 * DAY)).as("nothing past the retention yet").isZero();
            assertThat(store.expire(40 * DAY)).isEqualTo(1000);
            store.awaitCompaction();
            List<String> kept =
                    List.of("open", "acknowledged", "shelved", "latched", "untold", "acked-late");
            assertThat(ids(store)).isEqualTo(kept);
            assertThat(store.expired()).isEqualTo(1000);
            assertThat(Files.size(journal)).as("compacted").isLessThan(before / 10);
            assertThat(Files.readString(journal)).doesNotContain("old-");
            assertThat(store.silences()).containsExactly(active);
            assertThat(store.expire(40 * DAY)).as("nothing more").isZero();

            store.event(alert("new", AlertState.OPEN), 0, offset, 40 * DAY);
        }
        try (AlertStore store = new AlertStore(dir, Duration.ofDays(30), 40 * DAY)) {
            assertThat(ids(store))
                    .containsExactly(
                            "open",
                            "acknowledged",
                            "shelved",
                            "latched",
                            "untold",
                            "acked-late",
                            "new");
            assertThat(store.nextOffsets()).isEqualTo(Map.of(0, offset + 1));
            assertThat(store.statusOf("latched")).isEqualTo(AlertStore.Status.LATCHED);
            assertThat(store.shelvedUntil("shelved")).isEqualTo(100 * DAY);
            assertThat(store.unnotified())
                    .extracting(Alert::alertId)
                    .containsExactly("acknowledged", "untold", "new");
            assertThat(store.silences()).containsExactly(active);
        }
    }

    /**
     * A running store compacts on a thread of its own. While it writes the copy, events, notices,
     * statuses, silences and another sweep go on: the old code held the store's lock throughout,
     * and the dispatcher, the Kafka loop and the API waited (1.33-2.43 s for a 30-day store on
     * tmpfs, AlertStoreFootprint). What was written meanwhile follows the copy into the new
     * journal.
     */
    @Test
    void aCompactionWhileRunningHoldsNothingUpAndKeepsWhatArrivedMeanwhile() throws Exception {
        Path journal = dir.resolve("alerts.journal");
        Path copy = dir.resolve("alerts.journal.compacting");
        Silence later = silence("later", DAY, 100 * DAY);
        CountDownLatch copied = new CountDownLatch(1);
        CountDownLatch released = new CountDownLatch(1);
        long offset = 0;
        try (AlertStore store = new AlertStore(dir, Duration.ofDays(30), 0)) {
            offset = thousandOld(store);
            lived(store, "older-later", offset, 5 * DAY);
            offset += 2;
            store.event(alert("open", AlertState.OPEN), 0, offset++, DAY);
            store.notified(List.of(alert("open", AlertState.OPEN)));
            store.afterCopyWritten(pause(copied, released));

            assertThat(store.expire(34 * DAY)).isEqualTo(1000);
            assertThat(store.compacting()).isTrue();
            assertThat(copied.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            long copySize = Files.size(copy);
            store.event(alert("new", AlertState.OPEN), 0, offset++, 40 * DAY);
            store.notified(List.of(alert("new", AlertState.OPEN)));
            store.status("open", AlertStore.Status.ACKNOWLEDGED, "maria", 40 * DAY);
            store.silence(later);
            assertThat(store.expire(36 * DAY)).as("a sweep meanwhile").isEqualTo(1);
            assertThat(Files.size(copy)).as("the copy waits").isEqualTo(copySize);
            assertThat(Files.readString(journal)).contains("old-999");

            released.countDown();
            store.awaitCompaction();
            assertThat(Files.exists(copy)).isFalse();
            String compacted = Files.readString(journal);
            assertThat(compacted).doesNotContain("old-").contains("\"new\"", "maria", "later");
            store.event(alert("after", AlertState.OPEN), 0, offset, 40 * DAY);
        }
        // A clock behind the retention brings back nothing forgotten, in or after the copy.
        try (AlertStore store = new AlertStore(dir, Duration.ofDays(30), 20 * DAY)) {
            assertThat(ids(store)).containsExactly("open", "new", "after");
            assertThat(store.statusOf("open")).isEqualTo(AlertStore.Status.ACKNOWLEDGED);
            assertThat(store.unnotified()).extracting(Alert::alertId).containsExactly("after");
            assertThat(store.silences()).containsExactly(later);
            assertThat(store.nextOffsets()).isEqualTo(Map.of(0, offset + 1));
        }
    }

    /**
     * A stop while a compaction writes its copy abandons it: the copy goes, the alerts the sweep
     * forgot are named in the old journal, and the next start reads that, with everything written
     * until the stop: an alert a replay brought back meanwhile stays, as do silences the copy left
     * out.
     */
    @Test
    void aStopDuringACompactionAbandonsItAndTheJournalStaysWhole() throws Exception {
        Path copy = dir.resolve("alerts.journal.compacting");
        CountDownLatch copied = new CountDownLatch(1);
        CountDownLatch released = new CountDownLatch(1);
        long offset = 0;
        AlertStore store = new AlertStore(dir, Duration.ofDays(30), 0);
        offset = thousandOld(store);
        Silence ended = silence("ended", DAY, 2 * DAY);
        store.silence(ended);
        store.afterCopyWritten(pause(copied, released));
        assertThat(store.expire(40 * DAY)).isEqualTo(1000);
        assertThat(copied.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        store.event(alert("old-7", AlertState.OPEN), 0, offset++, 40 * DAY); // a replay
        store.event(alert("new", AlertState.OPEN), 0, offset, 40 * DAY);
        Thread stop = new Thread(store::close);
        stop.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> stop.getState() == Thread.State.WAITING);
        released.countDown();
        stop.join(10_000);
        assertThat(stop.isAlive()).isFalse();
        assertThat(Files.exists(copy)).isFalse();
        // The alerts the sweep forgot are named in the old journal: a clock behind the retention
        // brings none back.
        try (AlertStore next = new AlertStore(dir, Duration.ofDays(30), 20 * DAY)) {
            assertThat(ids(next)).containsExactly("old-7", "new");
            assertThat(next.statusOf("old-7")).isEqualTo(AlertStore.Status.OPEN);
            assertThat(next.nextOffsets()).isEqualTo(Map.of(0, offset + 1));
            // Held as the store held it at the stop: the abandoned copy dropped nothing.
            assertThat(next.silences()).containsExactly(ended);
        }
    }

    /**
     * A compaction that fails, even with an Error, deletes its copy, names the alerts it left out
     * in the journal as it is (not one a replay brought back meanwhile), and the next sweep
     * compacts.
     */
    @Test
    void aCompactionThatFailsLeavesNoCopyForgetsWhatItLeftOutAndTheNextSweepCompacts()
            throws Exception {
        Path journal = dir.resolve("alerts.journal");
        Path copy = dir.resolve("alerts.journal.compacting");
        CountDownLatch copied = new CountDownLatch(1);
        CountDownLatch released = new CountDownLatch(1);
        long offset = 0;
        try (AlertStore store = new AlertStore(dir, Duration.ofDays(30), 0)) {
            offset = thousandOld(store);
            store.afterCopyWritten(
                    () -> {
                        pause(copied, released).run();
                        throw new OutOfMemoryError("a failure the test makes");
                    });
            assertThat(store.expire(40 * DAY)).isEqualTo(1000);
            assertThat(copied.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            store.event(alert("old-5", AlertState.OPEN), 0, offset++, 40 * DAY); // a replay
            released.countDown();
            store.awaitCompaction();
            assertThat(store.compacting()).isFalse();
            assertThat(Files.exists(copy)).isFalse();
            assertThat(Files.readString(journal)).contains("old-999");
            assertThat(ids(store)).containsExactly("old-5");

            store.afterCopyWritten(null);
            long before = Files.size(journal);
            store.expire(40 * DAY);
            store.awaitCompaction();
            assertThat(Files.size(journal)).as("the next sweep compacts").isLessThan(before / 10);
            assertThat(Files.readString(journal)).doesNotContain("old-999");
            store.event(alert("after", AlertState.OPEN), 0, offset, 40 * DAY);
        }
        // The journal is as before plus forget records: a clock behind the retention brings
        // nothing back, and the replayed alert stays.
        try (AlertStore store = new AlertStore(dir, Duration.ofDays(30), 20 * DAY)) {
            assertThat(ids(store)).containsExactly("old-5", "after");
            assertThat(store.nextOffsets()).isEqualTo(Map.of(0, offset + 1));
        }
    }

    /**
     * Which receivers have a state that others still wait for outlives a restart and a compaction;
     * a new state of the alert starts it over, and the state told to all clears it.
     */
    @Test
    void whichReceiversHaveAStateOutlivesARestartAndACompaction() throws Exception {
        Alert open = alert("a", AlertState.OPEN);
        Alert resolved = alert("a", AlertState.RESOLVED);
        try (AlertStore store = new AlertStore(dir, Duration.ofDays(30), 0)) {
            store.event(open, 0, 0, 0);
            store.taken("console", List.of(open));
            store.taken("pager", List.of(open));
            assertThat(store.takenBy(open)).containsExactlyInAnyOrder("console", "pager");
            assertThat(store.unnotified()).containsExactly(open);
        }
        try (AlertStore store = new AlertStore(dir, Duration.ofDays(30), 0)) {
            assertThat(store.takenBy(open)).containsExactlyInAnyOrder("console", "pager");
            store.event(resolved, 0, 1, 0);
            assertThat(store.takenBy(resolved)).isEmpty();
            store.taken("console", List.of(resolved));
            store.taken("console", List.of(open)); // an older state: nothing
            assertThat(store.takenBy(resolved)).containsExactly("console");
            assertThat(store.takenBy(open)).isEmpty();
            // Compacted with the bad line a start rewrites the journal for.
            Files.writeString(
                    dir.resolve("alerts.journal"),
                    "{\"t\":\"nonsense\"}\n",
                    StandardOpenOption.APPEND);
        }
        try (AlertStore store = new AlertStore(dir, Duration.ofDays(30), 0)) {
            assertThat(Files.readString(dir.resolve("alerts.journal"))).doesNotContain("nonsense");
            assertThat(store.takenBy(resolved)).containsExactly("console");
            store.notified(List.of(resolved));
            assertThat(store.takenBy(resolved)).isEmpty();
            assertThat(store.unnotified()).isEmpty();
        }
        try (AlertStore store = new AlertStore(dir, Duration.ofDays(30), 0)) {
            assertThat(store.takenBy(resolved)).isEmpty();
            assertThat(store.wasNotified(resolved)).isTrue();
        }
    }

    /** Pauses a compaction once its copy is written, until {@code released}. */
    private static Runnable pause(CountDownLatch copied, CountDownLatch released) {
        return () -> {
            copied.countDown();
            try {
                released.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
    }

    private static Silence silence(String id, long from, long to) {
        return new Silence(
                id,
                List.of(),
                Map.of("line", List.of("line-1")),
                Instant.ofEpochMilli(from),
                Instant.ofEpochMilli(to),
                null,
                "maria",
                "");
    }

    /**
     * A sweep that forgets a few alerts does not rewrite the journal; a record names them, so a
     * restart does not bring them back, even one whose clock says they are not yet past the
     * retention.
     */
    @Test
    void alertsForgottenBeforeTheJournalIsCompactedStayForgottenAfterARestart() throws Exception {
        Path journal = dir.resolve("alerts.journal");
        try (AlertStore store = new AlertStore(dir, Duration.ofDays(30), 0)) {
            lived(store, "old", 0, DAY);
            lived(store, "recent", 2, 20 * DAY);
            long size = Files.size(journal);
            assertThat(store.expire(40 * DAY)).isEqualTo(1);
            assertThat(Files.size(journal)).as("appended to, not rewritten").isGreaterThan(size);
            assertThat(ids(store)).containsExactly("recent");
        }
        try (AlertStore store = new AlertStore(dir, Duration.ofDays(30), 20 * DAY)) {
            assertThat(ids(store)).containsExactly("recent");
            assertThat(store.nextOffsets()).isEqualTo(Map.of(0, 4L));
        }
    }

    /**
     * A crash while compacting leaves the old journal whole and part of the new one beside it (the
     * new one replaces the old in one move, after it was forced to disk): the start reads the old
     * journal and removes the part.
     */
    @Test
    void aCrashWhileCompactingLosesNothing() throws Exception {
        try (AlertStore store = new AlertStore(dir, Duration.ofDays(30), 0)) {
            lived(store, "a", 0, 100);
            store.event(alert("b", AlertState.OPEN), 1, 0, 200);
        }
        Path part = dir.resolve("alerts.journal.compacting");
        Files.writeString(part, "{\"t\":\"offsets\",\"next\":{\"0\":2}}\n{\"t\":\"ev");
        try (AlertStore store = new AlertStore(dir, Duration.ofDays(30), 1_000)) {
            assertThat(ids(store)).containsExactly("a", "b");
            assertThat(store.nextOffsets()).isEqualTo(Map.of(0, 2L, 1, 1L));
            assertThat(store.unnotified()).extracting(Alert::alertId).containsExactly("b");
        }
        assertThat(part).doesNotExist();
    }
}
