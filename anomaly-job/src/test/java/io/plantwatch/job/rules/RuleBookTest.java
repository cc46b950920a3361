package io.plantwatch.job.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.plantwatch.model.ConfigException;
import io.plantwatch.model.Severity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RuleBookTest {
    private static final String OVEN = "dresden/press-shop/line-2/oven-1/zone-1-temp";
    private static final String PRESS = "dresden/press-shop/line-1/press-1/oil-temp";

    private static RuleBook shipped() {
        return RuleBook.load(Path.of("..", "config", "rules.yaml"));
    }

    @Test
    void theShippedRulesLoadAndGiveEachKindItsRules() {
        RuleBook book = shipped();
        DetectorRules temp = book.resolve(PRESS, "degC");
        assertThat(temp.spike().delta()).isEqualTo(8);
        assertThat(temp.spike().alarm().severity()).isEqualTo(Severity.CRITICAL);
        assertThat(temp.outOfRange().high()).isEqualTo(80);
        assertThat(book.resolve("s/a/l/m/bearing-temp", "degC").outOfRange().high()).isEqualTo(90);
        assertThat(temp.missingData().afterMillis()).isEqualTo(300_000);
        assertThat(temp.baseline()).isNotNull();

        DetectorRules vibration = book.resolve("s/a/l/m/bearing", "mm/s");
        assertThat(vibration.outOfRange().high()).isEqualTo(7.1);
        assertThat(vibration.outOfRange().low()).isEqualTo(Double.NEGATIVE_INFINITY);
        assertThat(vibration.rateOfChange()).isNull();
        assertThat(book.kindName("s/a/l/m/x", "%RH")).isEqualTo("humidity");
        assertThat(book.kindName("s/a/l/m/x", "furlongs")).isNull();
    }

    /**
     * The job compares readings as they come, so a threshold holds in one unit: a Kelvin sensor
     * under degC's range was out of range at every reading, a degF oil temperature under its 80.
     */
    @Test
    void theShippedRulesSetEachUnitsThresholdsInThatUnit() {
        RuleBook book = shipped();
        DetectorRules k = book.resolve("s/a/l/m/coolant-temp", "K");
        assertThat(k.outOfRange().low()).isEqualTo(293.15);
        assertThat(k.outOfRange().high()).isEqualTo(363.15);
        DetectorRules f = book.resolve(PRESS, "degF");
        assertThat(f.outOfRange().low()).isEqualTo(68);
        assertThat(f.outOfRange().high()).as("oil-temp's own, not its degC 80").isEqualTo(176);
        assertThat(f.spike().delta()).isEqualTo(14.4);
        assertThat(book.resolve("s/a/l/m/coolant-temp", "degF").outOfRange().high()).isEqualTo(194);
        assertThat(book.resolve(OVEN, "degF").outOfRange().low()).isEqualTo(302);
        assertThat(book.resolve(OVEN, "K").outOfRange().high()).isEqualTo(483.15);
        assertThat(book.resolve(PRESS, "K").outOfRange().high()).isEqualTo(353.15);
        assertThat(book.resolve("s/a/l/m/inlet", "kPa").outOfRange().high()).isEqualTo(800);
        assertThat(book.resolve("s/a/l/m/inlet", "psi").outOfRange().low()).isEqualTo(58);
        assertThat(book.resolve("s/a/l/m/inlet", "bar").outOfRange().low()).isEqualTo(4);
        for (String unit : List.of("degC", "degF", "K", "bar", "kPa", "psi")) {
            assertThat(book.unitOf(book.kindName("s/a/l/m/x", unit))).isEqualTo(unit);
        }
    }

    @Test
    void aSensorsEntryWithUnitsAppliesOnlyToSensorsInThem(@TempDir Path dir) throws Exception {
        Path file =
                Files.writeString(
                        dir.resolve("rules.yaml"),
                        """
                        defaults: {out-of-range: {high: 100}}
                        sensors:
                          - match: "**/oil-temp"
                            units: [degC, K]
                            out-of-range: {high: 80}
                          - match: "**/oil-temp"
                            units: degF
                            out-of-range: {high: 176}
                        """);
        RuleBook book = RuleBook.load(file);
        assertThat(book.resolve(PRESS, "degC").outOfRange().high()).isEqualTo(80);
        assertThat(book.resolve(PRESS, "K").outOfRange().high()).isEqualTo(80);
        assertThat(book.resolve(PRESS, "degF").outOfRange().high()).isEqualTo(176);
        assertThat(book.resolve(PRESS, "bar").outOfRange().high()).isEqualTo(100);
        assertThat(book.resolve("s/a/l/m/coolant-temp", "degC").outOfRange().high()).isEqualTo(100);
    }

    @Test
    void anIncludedFileComesFirstAndTheIncludingFilesOverridesWin() {
        RuleBook demo = RuleBook.load(Path.of("..", "config", "rules-demo.yaml"));
        DetectorRules temp = demo.resolve(PRESS, "degC");
        assertThat(temp.missingData().afterMillis()).isEqualTo(15_000);
        // Everything else as the included file says, its own overrides included.
        assertThat(temp).isEqualTo(withMissingAfter(shipped().resolve(PRESS, "degC"), 15_000));
        assertThat(demo.resolve(OVEN, "degC").outOfRange().low()).isEqualTo(150);
    }

    @Test
    void expectedSensorsAreListedOnceEachWithTheirUnitAndIncludedListsAddUp(@TempDir Path dir)
            throws Exception {
        Files.writeString(
                dir.resolve("plant.yaml"),
                """
                kinds:
                  temperature: {units: [degC], rules: {missing-data: {after: 1m}}}
                defaults: {missing-data: {after: 5m}}
                expected: [s/a/l/m/oil-temp]
                """);
        Path file =
                Files.writeString(
                        dir.resolve("rules.yaml"),
                        """
                        include: plant.yaml
                        sensors:
                        expected:
                          - {id: s/a/l/m/inlet-temp, unit: degC}
                          - s/a/l/m/pressure
                          - {id: s/a/l/m/oil-temp, unit: degC}
                        """);
        RuleBook book = RuleBook.load(file);
        assertThat(book.expected())
                .containsOnlyKeys("s/a/l/m/oil-temp", "s/a/l/m/inlet-temp", "s/a/l/m/pressure");
        assertThat(book.expected().get("s/a/l/m/oil-temp").unit())
                .as("listed again by the including file: its entry")
                .isEqualTo("degC");
        Path emptied =
                Files.writeString(
                        dir.resolve("site.yaml"),
                        "include: plant.yaml\nexpected:\n# - s/a/l/m/x\nsensors:\n");
        assertThat(RuleBook.load(emptied).expected())
                .as("a list with every entry commented out adds nothing")
                .containsOnlyKeys("s/a/l/m/oil-temp");
        RuleBook.Expected inlet = book.expected().get("s/a/l/m/inlet-temp");
        assertThat(inlet.unit()).isEqualTo("degC");
        assertThat(book.resolve(inlet).missingData().afterMillis()).isEqualTo(60_000);
        assertThat(
                        book.resolve(book.expected().get("s/a/l/m/pressure"))
                                .missingData()
                                .afterMillis())
                .as("no unit: no kind by unit, the defaults")
                .isEqualTo(300_000);
        assertThat(shipped().expected()).isEmpty();
        // A mistake in the included file's list names that file, though the including one lists
        // sensors too.
        Files.writeString(dir.resolve("bad.yaml"), "expected: s/a/l/m/x\n");
        Path including =
                Files.writeString(
                        dir.resolve("top.yaml"), "include: bad.yaml\nexpected: [s/a/l/m/y]\n");
        assertThatThrownBy(() -> RuleBook.load(including))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("bad.yaml expected: must be a list");
    }

    @Test
    void aBadExpectedListFailsAtLoadNamingTheEntry() {
        assertThatThrownBy(() -> RuleBook.parse("expected: s/a/l/m/x", "r"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("r expected: must be a list");
        assertThatThrownBy(() -> RuleBook.parse("expected: [s/a/l/m/x, s/a/l/m/y, s/a/l/m/x]", "r"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("r expected: 's/a/l/m/x' is listed twice");
        assertThatThrownBy(() -> RuleBook.parse("expected: [s/a/l/x]", "r"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("r expected[0]: sensor id 's/a/l/x' must have 5 levels");
        assertThatThrownBy(() -> RuleBook.parse("expected: [{id: s/a/l/m/x, units: degC}]", "r"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("r expected[0]: unknown key 'units'; known: id, unit");
        assertThatThrownBy(() -> RuleBook.parse("expected: [{unit: degC}]", "r"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("r expected[0]: 'id' (a sensor id) is required");
        assertThatThrownBy(() -> RuleBook.parse("expected: [{id: s/a/l/m/x, unit: ''}]", "r"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("r expected[0].unit: must be a unit");
        assertThatThrownBy(() -> RuleBook.parse("expected: [[s/a/l/m/x]]", "r"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("r expected[0]: must be a sensor id or {id: ..., unit: ...}");
    }

    /** The files a watch of the rules reads again: the file and its includes, in order. */
    @Test
    void theFilesOfARulesFileAreItAndItsIncludes() {
        Path demo = Path.of("..", "config", "rules-demo.yaml");
        assertThat(RuleBook.files(demo))
                .containsExactly(
                        demo.toAbsolutePath().normalize(),
                        Path.of("..", "config", "rules.yaml").toAbsolutePath().normalize());
    }

    /**
     * Files that include each other are a mistake to name, not a stack overflow: an Error, which
     * ended the thread that watches the rules file.
     */
    @Test
    void rulesFilesThatIncludeEachOtherAreRefusedWithTheChain(
            @org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path a = java.nio.file.Files.writeString(dir.resolve("a.yaml"), "include: b.yaml\n");
        Path b = java.nio.file.Files.writeString(dir.resolve("b.yaml"), "include: a.yaml\n");
        assertThatThrownBy(() -> RuleBook.load(a))
                .isInstanceOf(ConfigException.class)
                .hasMessage(
                        "rules file "
                                + dir.resolve("a.yaml")
                                + " includes itself: "
                                + a
                                + " -> "
                                + b
                                + " -> "
                                + a);
        assertThat(RuleBook.files(a)).containsExactly(a, b);
    }

    private static DetectorRules withMissingAfter(DetectorRules r, long after) {
        return new DetectorRules(
                r.spike(),
                r.outOfRange(),
                r.rateOfChange(),
                r.flatline(),
                new DetectorRules.MissingData(r.missingData().alarm(), after),
                r.baseline());
    }

    @Test
    void sensorsOfTheSameKindAndOverridesShareTheirBuiltRulesAndOthersDoNot() {
        RuleBook book = shipped();
        DetectorRules press = book.resolve(PRESS, "degC");
        assertThat(book.resolve("kiel/hall-2/line-7/press-9/oil-temp", "degC")).isSameAs(press);
        assertThat(book.resolve("kiel/hall-2/line-7/press-9/coolant-temp", "degC"))
                .isNotEqualTo(press);
        DetectorRules oven = book.resolve(OVEN, "degC");
        assertThat(oven).isNotEqualTo(press);
        assertThat(book.resolve(OVEN, "degC")).isSameAs(oven);
        assertThat(book.resolve("s/a/l/m/bearing", "mm/s")).isNotEqualTo(press);
    }

    @Test
    void sensorOverridesChangeOnlyTheKeysTheyName() {
        DetectorRules oven = shipped().resolve(OVEN, "degC");
        assertThat(oven.outOfRange().low()).isEqualTo(150);
        assertThat(oven.outOfRange().high()).isEqualTo(210);
        assertThat(oven.outOfRange().count()).isEqualTo(3);
        assertThat(oven.outOfRange().deadband()).isEqualTo(2);
    }

    @Test
    void laterOverridesWinAndARuleCanBeSwitchedOff() {
        RuleBook book =
                RuleBook.parse(
                        """
                        defaults:
                          spike: {delta: 5, within: 10s}
                          missing-data: {after: 1m}
                        sensors:
                          - {match: "site/**", spike: {delta: 7}}
                          - {match: "site/a/l/m/s1", spike: {delta: 9}, missing-data: false}
                        """,
                        "t");
        assertThat(book.resolve("site/a/l/m/s1", "").spike().delta()).isEqualTo(9);
        assertThat(book.resolve("site/a/l/m/s1", "").missingData()).isNull();
        assertThat(book.resolve("site/a/l/m/s2", "").spike().delta()).isEqualTo(7);
        assertThat(book.resolve("other/a/l/m/s2", "").spike().delta()).isEqualTo(5);
    }

    @Test
    void aSensorNothingMatchesHasOnlyTheDefaults() {
        DetectorRules none = RuleBook.parse("{}", "t").resolve(PRESS, "degC");
        assertThat(none).isEqualTo(DetectorRules.NONE);
    }

    @Test
    void patternShapesCoverEveryCombinationInTheBook() {
        RuleBook book =
                RuleBook.parse(
                        """
                        kinds:
                          t: {units: [degC], rules: {spike: {delta: 5, within: 10s, confirm: 1}}}
                        sensors:
                          - {match: "**", spike: {delta: 5, within: 30s}}
                        """,
                        "t");
        assertThat(book.spikeShapes())
                .containsExactly(
                        new PatternShape(1, 10_000),
                        new PatternShape(1, 30_000),
                        new PatternShape(2, 10_000),
                        new PatternShape(2, 30_000));
        assertThat(book.outOfRangeShapes()).containsExactly(new PatternShape(1, 60_000));
    }

    @Test
    void badRulesFailAtLoadNamingTheFileSectionAndKey() {
        assertThatThrownBy(
                        () ->
                                RuleBook.parse(
                                        "kinds: {t: {units: [degC], rules: {spike: {delta: -1,"
                                                + " within: 10s}}}}",
                                        "rules.yaml"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("rules.yaml")
                .hasMessageContaining("kind t spike")
                .hasMessageContaining("'delta' (-1)");
        assertThatThrownBy(() -> RuleBook.parse("defaults: {spike: {delta: 1}}", "r"))
                .hasMessageContaining("'within'")
                .hasMessageContaining("is required");
        assertThatThrownBy(() -> RuleBook.parse("defaults: {spikes: {delta: 1}}", "r"))
                .hasMessageContaining("unknown rule 'spikes'");
        assertThatThrownBy(
                        () ->
                                RuleBook.parse(
                                        "defaults: {spike: {delta: 1, within: 1s, dleta: 2}}", "r"))
                .hasMessageContaining("unknown key 'dleta'");
        assertThatThrownBy(() -> RuleBook.parse("defaults: {out-of-range: {low: 5, high: 1}}", "r"))
                .hasMessageContaining("must be below high");
        assertThatThrownBy(() -> RuleBook.parse("kinds: {t: {rules: {}}}", "r"))
                .hasMessageContaining("units or match");
        assertThatThrownBy(() -> RuleBook.parse("sensors: [{spike: {delta: 1}}]", "r"))
                .hasMessageContaining("'match'");
        // An override that only breaks in combination with a kind is caught too.
        assertThatThrownBy(
                        () ->
                                RuleBook.parse(
                                        """
                                        kinds: {t: {units: [degC], rules: {out-of-range: {low: 0, high: 10}}}}
                                        sensors: [{match: "**", out-of-range: {low: 20}}]
                                        """,
                                        "r"))
                .hasMessageContaining("with kind t")
                .hasMessageContaining("must be below high");
        // An override matching sensors of no kind must be complete on its own.
        assertThatThrownBy(
                        () ->
                                RuleBook.parse(
                                        """
                                        kinds: {t: {units: [degC], rules: {spike: {delta: 5, within: 10s}}}}
                                        sensors: [{match: "**", spike: {within: 30s}}]
                                        """,
                                        "r"))
                .hasMessageContaining("for a sensor of no kind");
        assertThatThrownBy(() -> RuleBook.parse("# nothing but a comment\n", "r"))
                .hasMessageContaining("r is empty")
                .hasMessageContaining("defaults: {}");
        assertThatThrownBy(() -> RuleBook.parse("defaults: [", "r"))
                .hasMessageContaining("not valid YAML")
                .message()
                .doesNotContain("\n");
        // What is wrong and where, not the parser's context ("while scanning for the next token").
        assertThatThrownBy(() -> RuleBook.parse("defaults:\n\tspike: {delta: 5}\n", "r"))
                .hasMessageContaining("r is not valid YAML (line 2)")
                .hasMessageContaining("TAB")
                .message()
                .doesNotContain("while scanning");
        // YAML keeps the last of a key written twice: a threshold changed without a word.
        assertThatThrownBy(
                        () ->
                                RuleBook.parse(
                                        """
                                        defaults:
                                          out-of-range: {low: 0, high: 100, count: 3, within: 1m}
                                          out-of-range: {low: 0, high: 1000000, count: 3, within: 1m}
                                        """,
                                        "r"))
                .hasMessageContaining("r is not valid YAML (line 3)")
                .hasMessageContaining("Duplicate field 'out-of-range'");
    }
}
