package io.plantwatch.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A config file's changes reach its part checked, once per content: a mistake is refused without
 * touching the part, a change the part could not take is tried again only after a pause, and new
 * content is taken at once.
 */
class ConfigWatchTest {
    @TempDir Path dir;

    @Test
    void validContentIsAppliedOnceAsCheckedAndInvalidContentNever() throws Exception {
        Path file = Files.writeString(dir.resolve("rules.yaml"), "threshold: 1\n");
        List<String> applied = new ArrayList<>();
        List<String> answers = new ArrayList<>(List.of());
        ConfigWatch<String> watch =
                new ConfigWatch<>(
                        "rules file",
                        "the job",
                        file,
                        ConfigWatchTest::parse,
                        v -> {
                            applied.add(v);
                            return answers.isEmpty() ? null : answers.remove(0);
                        });

        watch.check(0);
        assertThat(applied).as("the content it started with").isEmpty();

        Files.writeString(file, "threshold: lots\n");
        watch.check(1_000);
        watch.check(2_000);
        assertThat(applied).isEmpty();
        assertThat(watch.refused()).isEqualTo(1);

        Files.writeString(file, "threshold: 2\n");
        watch.check(3_000);
        watch.check(4_000);
        assertThat(applied).containsExactly("2");
        assertThat(watch.applied()).isEqualTo(1);

        // The part could not take it: the same content waits, new content goes at once.
        answers.add("the job could not take a savepoint");
        Files.writeString(file, "threshold: 3\n");
        watch.check(5_000);
        watch.check(5_000 + ConfigWatch.RETRY_MILLIS - 1);
        assertThat(applied).containsExactly("2", "3");
        watch.check(5_000 + ConfigWatch.RETRY_MILLIS);
        assertThat(applied).containsExactly("2", "3", "3");
        Files.writeString(file, "threshold: 4\n");
        answers.add("not now");
        watch.check(6_000 + ConfigWatch.RETRY_MILLIS);
        Files.writeString(file, "threshold: 5\n");
        watch.check(6_001 + ConfigWatch.RETRY_MILLIS);
        assertThat(applied).containsExactly("2", "3", "3", "4", "5");
        assertThat(watch.applied()).isEqualTo(3);
        assertThat(watch.refused()).isEqualTo(3);

        // A file being replaced (gone for a moment) is no change.
        Files.delete(file);
        watch.check(7_000 + ConfigWatch.RETRY_MILLIS);
        assertThat(applied).hasSize(5);
    }

    /**
     * The applied content put back while a change waits to be tried again is checked once more: the
     * part may have taken some of that change (the appliance's file), and what it runs with
     * decides. Here it took none, so the wait ends, and the change saved again goes at once.
     */
    @Test
    void contentPutBackWhileAChangeWaitsIsCheckedAgain() throws Exception {
        Path file = Files.writeString(dir.resolve("appliance.yaml"), "threshold: 1\n");
        List<String> checked = new ArrayList<>();
        List<String> tried = new ArrayList<>();
        ConfigWatch<String> watch =
                new ConfigWatch<>(
                        "appliance file",
                        "the appliance",
                        file,
                        f -> {
                            String v = parse(f);
                            checked.add(v);
                            return v.equals("1") ? null : v;
                        },
                        v -> {
                            tried.add(v);
                            return tried.size() == 1 ? "not now" : null;
                        });
        watch.check(0);
        Files.writeString(file, "threshold: 2\n");
        watch.check(1_000);
        assertThat(tried).containsExactly("2");

        Files.writeString(file, "threshold: 1\n");
        watch.check(2_000);
        assertThat(checked).containsExactly("2", "1");
        Files.writeString(file, "threshold: 2\n");
        watch.check(3_000);
        assertThat(tried).as("at once, not after the retry pause").containsExactly("2", "2");
        watch.check(4_000);
        assertThat(checked).containsExactly("2", "1", "2");
    }

    /**
     * A change its part tried and cannot run with at all (a broker refused a changed login) is
     * refused, as a mistake is: the same content is not tried again every 30 s, new content is.
     */
    @Test
    void aChangeThePartCannotRunWithWaitsForTheNextChange() throws Exception {
        Path file = Files.writeString(dir.resolve("gateway.yaml"), "threshold: 1\n");
        List<String> tried = new ArrayList<>();
        ConfigWatch<String> watch =
                new ConfigWatch<>(
                        "gateway file",
                        "the gateway",
                        file,
                        ConfigWatchTest::parse,
                        v -> {
                            tried.add(v);
                            if (v.equals("2")) {
                                throw new ConfigException("the broker refused the login");
                            }
                            return null;
                        });
        watch.check(0);

        Files.writeString(file, "threshold: 2\n");
        watch.check(1_000);
        watch.check(1_000 + ConfigWatch.RETRY_MILLIS);
        assertThat(tried).containsExactly("2");
        assertThat(watch.refused()).isEqualTo(1);
        assertThat(watch.applied()).isZero();

        Files.writeString(file, "threshold: 3\n");
        watch.check(2_000 + ConfigWatch.RETRY_MILLIS);
        assertThat(tried).containsExactly("2", "3");
        assertThat(watch.applied()).isEqualTo(1);
    }

    /**
     * A config's named files (an include, a secret file) are watched with it: a change in one is a
     * change of the config, a file named from some point on is watched from then on, and one that
     * cannot be read is refused (the check says why) until it can.
     */
    @Test
    void aChangeInAFileTheConfigNamesIsAppliedAsAChangeOfTheConfig() throws Exception {
        Path shared = Files.writeString(dir.resolve("shared.txt"), "5\n");
        Path other = Files.writeString(dir.resolve("other.txt"), "7\n");
        Path file = Files.writeString(dir.resolve("rules.yaml"), "threshold-from: shared.txt\n");
        List<String> applied = new ArrayList<>();
        ConfigWatch<String> watch =
                new ConfigWatch<>(
                        "rules file",
                        "the job",
                        file,
                        f -> List.of(f, named(f)),
                        f -> parse(named(f)),
                        v -> {
                            applied.add(v);
                            return null;
                        });

        watch.check(0);
        assertThat(applied).isEmpty();
        Files.writeString(shared, "threshold: 6\n");
        watch.check(1_000);
        watch.check(2_000);
        assertThat(applied).containsExactly("6");

        Files.writeString(file, "threshold-from: other.txt\n");
        Files.writeString(other, "threshold: 7\n");
        watch.check(3_000);
        assertThat(applied).containsExactly("6", "7");
        Files.writeString(shared, "threshold: 8\n");
        watch.check(4_000);
        assertThat(applied).as("a file no longer named").containsExactly("6", "7");
        Files.writeString(other, "threshold: 9\n");
        watch.check(5_000);
        assertThat(applied).containsExactly("6", "7", "9");

        Files.delete(other);
        watch.check(6_000);
        watch.check(7_000);
        assertThat(watch.refused()).isEqualTo(1);
        Files.writeString(other, "threshold: 10\n");
        watch.check(8_000);
        assertThat(applied).containsExactly("6", "7", "9", "10");
    }

    /**
     * A file changed in nothing its part runs with (a comment, a key another layer sets): the check
     * says so with null, and the part does not restart for it.
     */
    @Test
    void aChangeInNothingThePartRunsWithRestartsNothing() throws Exception {
        Path file = Files.writeString(dir.resolve("job.yaml"), "threshold: 1\n");
        List<String> applied = new ArrayList<>();
        ConfigWatch<String> watch =
                new ConfigWatch<>(
                        "job file",
                        "the job",
                        file,
                        f -> {
                            String v = parse(f);
                            return v.equals("1") ? null : v;
                        },
                        v -> {
                            applied.add(v);
                            return null;
                        });
        Files.writeString(file, "# a comment\nthreshold: 1\n");
        watch.check(1_000);
        assertThat(applied).isEmpty();
        assertThat(watch.applied()).isZero();
        assertThat(watch.refused()).isZero();
        Files.writeString(file, "threshold: 2\n");
        watch.check(2_000);
        assertThat(applied).containsExactly("2");
    }

    /** The file a toy config names in its one line, relative to it. */
    private static Path named(Path file) {
        try {
            return file.resolveSibling(
                    Files.readString(file).strip().substring("threshold-from: ".length()));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aStoppedWatchEndsItsThread() throws Exception {
        Path file = Files.writeString(dir.resolve("alerting.yaml"), "threshold: 1\n");
        ConfigWatch<String> watch =
                new ConfigWatch<>(
                        "alerting file", "alerting", file, ConfigWatchTest::parse, v -> null);
        Thread t = watch.watch(10);
        watch.stop();
        t.join(5_000);
        assertThat(t.isAlive()).isFalse();
    }

    private static String parse(Path file) {
        try {
            // Comment lines are left out, as YAML does.
            String v =
                    Files.readAllLines(file).stream()
                            .filter(l -> !l.startsWith("#"))
                            .findFirst()
                            .orElse("")
                            .strip()
                            .substring("threshold: ".length());
            Integer.parseInt(v);
            return v;
        } catch (java.io.IOException | NumberFormatException | StringIndexOutOfBoundsException e) {
            throw new ConfigException(file + ": 'threshold' is not a number");
        }
    }
}
