package io.plantwatch.job.rules;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.plantwatch.model.ConfigException;
import io.plantwatch.model.SensorGlob;
import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The detector rules of {@code config/rules.yaml}: defaults for every sensor, then per sensor kind
 * (chosen by the reading's unit or by a sensor-id glob, first kind that matches), then overrides by
 * sensor-id glob, optionally only for some units, in file order, later entries winning key by key.
 * See config/rules.yaml for the format.
 *
 * <p>Each kind with each override a sensor of it can meet (an override for some units only meets
 * the kinds of those units) is checked when the book is loaded, so a bad value fails the job at
 * start with the file, the section and the key, never on the first reading of some sensor.
 */
public final class RuleBook implements Serializable {
    private static final long serialVersionUID = 1L;

    static final String SPIKE = "spike";
    static final String OUT_OF_RANGE = "out-of-range";
    static final String RATE_OF_CHANGE = "rate-of-change";
    static final String FLATLINE = "flatline";
    public static final String MISSING_DATA = "missing-data";
    static final String BASELINE = "baseline";
    private static final List<String> RULE_TYPES =
            List.of(SPIKE, OUT_OF_RANGE, RATE_OF_CHANGE, FLATLINE, MISSING_DATA, BASELINE);
    private static final Set<String> COMMON_KEYS =
            Set.of("enabled", "name", "severity", "on-delay", "off-delay");
    private static final Map<String, Set<String>> KEYS =
            Map.of(
                    SPIKE, Set.of("delta", "within", "confirm"),
                    OUT_OF_RANGE, Set.of("low", "high", "count", "within", "deadband"),
                    RATE_OF_CHANGE, Set.of("max-per-second", "window", "min-readings"),
                    FLATLINE, Set.of("epsilon", "duration", "count"),
                    MISSING_DATA, Set.of("after"),
                    BASELINE, Set.of("alpha", "k", "warmup", "consecutive"));

    private record Kind(
            String name,
            Set<String> units,
            List<SensorGlob> match,
            Map<String, Map<String, String>> rules)
            implements Serializable {}

    /**
     * @param units the units whose sensors it applies to; empty for every unit. A threshold is in
     *     some unit, and a glob such as {@code **}{@code /oil-temp} matches a sensor in another.
     */
    private record Override(
            SensorGlob match, Set<String> units, Map<String, Map<String, String>> rules)
            implements Serializable {
        boolean appliesTo(String sensorId, String unit) {
            return (units.isEmpty() || units.contains(unit)) && match.matches(sensorId);
        }
    }

    /**
     * A sensor the plant has, listed in {@code expected:}: its missing-data rule applies from each
     * run's first watermark, before (and whether or not) it ever sends ({@code ExpectedSensors}).
     *
     * @param unit the unit its readings will come in, which chooses its kind; null when not given
     *     (its kind then only by a sensor-id glob, and overrides for some units do not apply)
     */
    public record Expected(String id, String unit) implements Serializable {}

    private final String source;
    private final Map<String, Map<String, String>> defaults;
    private final List<Kind> kinds;
    private final List<Override> overrides;
    private final Map<String, Expected> expected;

    /**
     * Built rules by what they are made of: the sensor's kind and the overrides that match it.
     * Building (merging layers, parsing numbers and durations) cost far more than matching, and a
     * plant's sensors share a handful of combinations.
     */
    private transient Map<List<Integer>, DetectorRules> built;

    private RuleBook(
            String source,
            Map<String, Map<String, String>> defaults,
            List<Kind> kinds,
            List<Override> overrides,
            Map<String, Expected> expected) {
        this.source = source;
        this.defaults = defaults;
        this.kinds = kinds;
        this.overrides = overrides;
        this.expected = expected;
    }

    /** Reads and checks a rules file. */
    public static RuleBook load(Path file) {
        return parse(tree(file, new ArrayList<>()), file.toString());
    }

    /**
     * The rules file and the files its {@code include}s name, in order, as far as they can be read:
     * what a watch of the rules reads again for a change. Checks nothing; {@link #load} does.
     */
    public static List<Path> files(Path file) {
        List<Path> chain = new ArrayList<>();
        try {
            tree(file, chain);
        } catch (ConfigException e) {
            // The chain so far: the file that cannot be read or parsed is in it.
        }
        return chain;
    }

    /**
     * A rules file as YAML, with its {@code include} resolved: the included file (relative to this
     * one) comes first; this file's defaults and kinds are merged over it key by key, and its
     * sensor overrides come after the included ones, so they win.
     */
    private static JsonNode tree(Path file, List<Path> chain) {
        Path normalized = file.toAbsolutePath().normalize();
        if (chain.contains(normalized)) {
            throw new ConfigException(
                    "rules file "
                            + file
                            + " includes itself: "
                            + String.join(
                                    " -> ",
                                    java.util.stream.Stream.concat(
                                                    chain.stream(),
                                                    java.util.stream.Stream.of(normalized))
                                            .map(Path::toString)
                                            .toList()));
        }
        chain.add(normalized);
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException("cannot read rules file " + file + ": " + e.getMessage(), e);
        }
        JsonNode root = yaml(text, file.toString());
        if (root == null || !root.isObject() || !root.has("include")) {
            return root;
        }
        Path base = file.toAbsolutePath().getParent().resolve(root.get("include").asText());
        JsonNode included = tree(base, chain);
        ObjectNode merged =
                included != null && included.isObject()
                        ? ((ObjectNode) included).deepCopy()
                        : new ObjectMapper().createObjectNode();
        for (String section : List.of("defaults", "kinds")) {
            if (root.has(section)) {
                merged.set(section, deepMerge(merged.get(section), root.get(section)));
            }
        }
        for (String list : List.of("sensors", "expected")) {
            JsonNode own = root.get(list);
            if (isEmpty(own)) {
                continue; // written with every entry commented out: adds nothing
            }
            if (!own.isArray()) {
                merged.set(list, own); // refused by parse: not a list
                continue;
            }
            if (list.equals("expected")) {
                // Each file's list checked on its own first, so a mistake names its file (and the
                // included one's is not replaced unseen below).
                expected(merged.path(list), base.toString());
                expected(own, file.toString());
            }
            com.fasterxml.jackson.databind.node.ArrayNode items =
                    merged.has(list) && merged.get(list).isArray()
                            ? (com.fasterxml.jackson.databind.node.ArrayNode) merged.get(list)
                            : merged.putArray(list);
            if (list.equals("expected")) {
                // A sensor the including file lists again is its entry (a site's file giving a
                // plant-wide list's sensor its unit), not a second one.
                Set<String> relisted = new java.util.HashSet<>();
                own.forEach(e -> relisted.add(expectedId(e)));
                for (Iterator<JsonNode> it = items.elements(); it.hasNext(); ) {
                    if (relisted.contains(expectedId(it.next()))) {
                        it.remove();
                    }
                }
            }
            own.forEach(items::add);
        }
        root.fieldNames()
                .forEachRemaining(
                        k -> {
                            if (!Set.of("include", "defaults", "kinds", "sensors", "expected")
                                    .contains(k)) {
                                merged.set(k, root.get(k)); // reported as unknown by parse
                            }
                        });
        return merged;
    }

    private static JsonNode deepMerge(JsonNode base, JsonNode over) {
        if (base == null || !base.isObject() || !over.isObject()) {
            return over.deepCopy();
        }
        ObjectNode out = ((ObjectNode) base).deepCopy();
        over.fields()
                .forEachRemaining(
                        e -> out.set(e.getKey(), deepMerge(out.get(e.getKey()), e.getValue())));
        return out;
    }

    /** A key written twice is refused: YAML would keep the last, a threshold silently changed. */
    private static JsonNode yaml(String text, String source) {
        return io.plantwatch.model.YamlFiles.parse(text, source);
    }

    /** Parses and checks rules from YAML text; {@code source} names it in errors. */
    public static RuleBook parse(String yaml, String source) {
        return parse(yaml(yaml, source), source);
    }

    private static RuleBook parse(JsonNode root, String source) {
        if (root == null || root.isMissingNode() || root.isNull()) {
            // A truncated copy or a wrong file, far more often than a wish to detect nothing.
            throw new ConfigException(
                    source
                            + " is empty (or only comments): no detector would run; write"
                            + " 'defaults: {}' in it if that is what you want");
        }
        requireObject(root, source);
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!Set.of("defaults", "kinds", "sensors", "expected").contains(key)) {
                throw new ConfigException(
                        source
                                + ": unknown section '"
                                + key
                                + "'; known: defaults, kinds, sensors, expected");
            }
        }
        Map<String, Map<String, String>> defaults =
                rules(root.path("defaults"), source + " defaults");
        List<Kind> kinds = new ArrayList<>();
        JsonNode kindsNode = root.path("kinds");
        if (!kindsNode.isMissingNode()) {
            requireObject(kindsNode, source + " kinds");
            for (Iterator<Map.Entry<String, JsonNode>> it = kindsNode.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String where = source + " kinds." + e.getKey();
                JsonNode k = e.getValue();
                requireObject(k, where);
                Set<String> units = new LinkedHashSet<>(strings(k.path("units"), where + ".units"));
                List<SensorGlob> match = new ArrayList<>();
                for (String g : strings(k.path("match"), where + ".match")) {
                    match.add(glob(g, where + ".match"));
                }
                if (units.isEmpty() && match.isEmpty()) {
                    throw new ConfigException(
                            where + ": say which sensors are of this kind (units or match)");
                }
                kinds.add(new Kind(e.getKey(), units, match, rules(k.path("rules"), where)));
            }
        }
        List<Override> overrides = new ArrayList<>();
        JsonNode sensors = root.path("sensors");
        if (!sensors.isMissingNode()) {
            if (!sensors.isArray()) {
                throw new ConfigException(source + " sensors: must be a list of {match: ...}");
            }
            int i = 0;
            for (JsonNode s : sensors) {
                String where = source + " sensors[" + i++ + "]";
                requireObject(s, where);
                if (!s.path("match").isTextual()) {
                    throw new ConfigException(where + ": 'match' (a sensor-id glob) is required");
                }
                Set<String> units = new LinkedHashSet<>(strings(s.path("units"), where + ".units"));
                Map<String, JsonNode> ruleNodes = new LinkedHashMap<>();
                s.fields()
                        .forEachRemaining(
                                f -> {
                                    if (!f.getKey().equals("match")
                                            && !f.getKey().equals("units")) {
                                        ruleNodes.put(f.getKey(), f.getValue());
                                    }
                                });
                overrides.add(
                        new Override(
                                glob(s.path("match").asText(), where),
                                units,
                                rules(new ObjectMapper().valueToTree(ruleNodes), where)));
            }
        }
        RuleBook book =
                new RuleBook(
                        source,
                        defaults,
                        kinds,
                        overrides,
                        expected(root.path("expected"), source));
        book.check();
        return book;
    }

    /**
     * The {@code expected:} list: sensor ids, or {@code {id: ..., unit: ...}} where the unit
     * chooses the kind. Each id once in a file: a second entry is a copy-and-paste slip, whose unit
     * would silently win (an including file's entry replaces an included one's, see {@link #tree}).
     */
    private static Map<String, Expected> expected(JsonNode node, String source) {
        Map<String, Expected> out = new LinkedHashMap<>();
        if (isEmpty(node)) {
            return out;
        }
        if (!node.isArray()) {
            throw new ConfigException(
                    source + " expected: must be a list of sensor ids (or {id: ..., unit: ...})");
        }
        int i = 0;
        for (JsonNode e : node) {
            String where = source + " expected[" + i++ + "]";
            String id;
            String unit = null;
            if (e.isTextual()) {
                id = e.asText();
            } else if (e.isObject()) {
                e.fieldNames()
                        .forEachRemaining(
                                k -> {
                                    if (!k.equals("id") && !k.equals("unit")) {
                                        throw new ConfigException(
                                                where
                                                        + ": unknown key '"
                                                        + k
                                                        + "'; known: id, unit");
                                    }
                                });
                if (!e.path("id").isTextual()) {
                    throw new ConfigException(where + ": 'id' (a sensor id) is required");
                }
                id = e.path("id").asText();
                if (e.has("unit")) {
                    if (!e.path("unit").isTextual() || e.path("unit").asText().isBlank()) {
                        throw new ConfigException(where + ".unit: must be a unit such as degC");
                    }
                    unit = e.path("unit").asText();
                }
            } else {
                throw new ConfigException(where + ": must be a sensor id or {id: ..., unit: ...}");
            }
            try {
                io.plantwatch.model.SensorId.parse(id);
            } catch (IllegalArgumentException bad) {
                throw new ConfigException(where + ": " + bad.getMessage(), bad);
            }
            if (out.put(id, new Expected(id, unit)) != null) {
                throw new ConfigException(source + " expected: '" + id + "' is listed twice");
            }
        }
        return out;
    }

    /** A key with nothing after it, as YAML reads it, or no key. */
    private static boolean isEmpty(JsonNode node) {
        return node == null
                || node.isMissingNode()
                || node.isNull()
                || node.isTextual() && node.asText().isEmpty();
    }

    private static String expectedId(JsonNode entry) {
        return entry.isObject() ? entry.path("id").asText() : entry.asText();
    }

    /** The sensors the {@code expected:} section lists, by id, in file order. */
    public Map<String, Expected> expected() {
        return expected;
    }

    /** The rules of an expected sensor that has not sent yet: by its id and its listed unit. */
    public DetectorRules resolve(Expected sensor) {
        return resolve(sensor.id(), sensor.unit());
    }

    private void check() {
        List<Kind> candidates = new ArrayList<>(kinds);
        candidates.add(null);
        for (Kind kind : candidates) {
            build(merge(kind, List.of()), kind == null ? "defaults" : "kind " + kind.name());
            for (Override o : overrides) {
                if (!canMeet(kind, o)) {
                    continue;
                }
                build(
                        merge(kind, List.of(o)),
                        "sensors entry '"
                                + o.match().glob()
                                + "'"
                                + (kind == null
                                        ? " for a sensor of no kind"
                                        : " with kind " + kind.name()));
            }
        }
    }

    /**
     * Whether a sensor of {@code kind} (null: of none) can come in a unit the override is for: a
     * Kelvin kind's range is not checked against a degC override's threshold.
     */
    private boolean canMeet(Kind kind, Override o) {
        if (o.units().isEmpty()) {
            return true;
        }
        if (kind == null) {
            // A unit a kind claims makes its sensors of that kind.
            return o.units().stream()
                    .anyMatch(u -> kinds.stream().noneMatch(k -> k.units().contains(u)));
        }
        // A kind chosen by a glob takes sensors in any unit.
        return !kind.match().isEmpty() || o.units().stream().anyMatch(kind.units()::contains);
    }

    /** The rules for one sensor whose readings come in {@code unit}. */
    public DetectorRules resolve(String sensorId, String unit) {
        Kind kind = kindOf(sensorId, unit);
        List<Integer> recipe = new ArrayList<>();
        recipe.add(kinds.indexOf(kind));
        for (int i = 0; i < overrides.size(); i++) {
            if (overrides.get(i).appliesTo(sensorId, unit)) {
                recipe.add(i);
            }
        }
        Map<List<Integer>, DetectorRules> memo = built;
        if (memo == null) {
            memo = new java.util.concurrent.ConcurrentHashMap<>();
            built = memo;
        }
        DetectorRules rules = memo.get(recipe);
        if (rules == null) {
            List<Override> matching = new ArrayList<>();
            for (int i = 1; i < recipe.size(); i++) {
                matching.add(overrides.get(recipe.get(i)));
            }
            rules = build(merge(kind, matching), "sensor " + sensorId);
            memo.put(recipe, rules);
        }
        return rules;
    }

    /**
     * Every shape a spike rule can take: confirm + 1 readings within the window. A superset: each
     * value of {@code confirm} and {@code within} anywhere in the book, combined.
     */
    public List<PatternShape> spikeShapes() {
        return shapes(SPIKE, "confirm", 0, 1, "within", null);
    }

    /** Every shape an out-of-range rule can take: count readings within the window. */
    public List<PatternShape> outOfRangeShapes() {
        return shapes(OUT_OF_RANGE, "count", 1, 0, "within", "1m");
    }

    private List<PatternShape> shapes(
            String type,
            String countKey,
            int countDefault,
            int countOffset,
            String withinKey,
            String withinDefault) {
        Set<Integer> counts = new java.util.TreeSet<>();
        Set<Long> withins = new java.util.TreeSet<>();
        counts.add(countDefault + countOffset);
        if (withinDefault != null) {
            withins.add(io.plantwatch.model.Durations.parse(withinDefault).toMillis());
        }
        List<Map<String, Map<String, String>>> layers = new ArrayList<>();
        layers.add(defaults);
        kinds.forEach(k -> layers.add(k.rules()));
        overrides.forEach(o -> layers.add(o.rules()));
        for (Map<String, Map<String, String>> layer : layers) {
            Map<String, String> p = layer.get(type);
            if (p == null) {
                continue;
            }
            RuleParams params = new RuleParams(source + " " + type, p);
            if (params.has(countKey)) {
                counts.add(params.count(countKey, 0) + countOffset);
            }
            if (params.has(withinKey)) {
                withins.add(params.millis(withinKey));
            }
        }
        List<PatternShape> shapes = new ArrayList<>();
        for (int c : counts) {
            for (long w : withins) {
                shapes.add(new PatternShape(c, w));
            }
        }
        return shapes;
    }

    /** The kind's name for a sensor, or null when none matches. */
    /** The first unit a sensor kind is known by, or null when the kind is unknown or has none. */
    public String unitOf(String kindName) {
        for (Kind k : kinds) {
            if (k.name().equals(kindName) && !k.units().isEmpty()) {
                return k.units().iterator().next();
            }
        }
        return null;
    }

    /** The names of the sensor kinds, in file order. */
    public List<String> kindNames() {
        return kinds.stream().map(Kind::name).toList();
    }

    public String kindName(String sensorId, String unit) {
        Kind k = kindOf(sensorId, unit);
        return k == null ? null : k.name();
    }

    private Kind kindOf(String sensorId, String unit) {
        for (Kind k : kinds) {
            if (k.units().contains(unit) || k.match().stream().anyMatch(g -> g.matches(sensorId))) {
                return k;
            }
        }
        return null;
    }

    private Map<String, Map<String, String>> merge(Kind kind, List<Override> matching) {
        Map<String, Map<String, String>> merged = new LinkedHashMap<>();
        mergeInto(merged, defaults);
        if (kind != null) {
            mergeInto(merged, kind.rules());
        }
        for (Override o : matching) {
            mergeInto(merged, o.rules());
        }
        return merged;
    }

    private static void mergeInto(
            Map<String, Map<String, String>> into, Map<String, Map<String, String>> layer) {
        layer.forEach(
                (rule, params) ->
                        into.computeIfAbsent(rule, r -> new LinkedHashMap<>()).putAll(params));
    }

    private DetectorRules build(Map<String, Map<String, String>> merged, String what) {
        try {
            return new DetectorRules(
                    spike(params(merged, SPIKE, what)),
                    outOfRange(params(merged, OUT_OF_RANGE, what)),
                    rateOfChange(params(merged, RATE_OF_CHANGE, what)),
                    flatline(params(merged, FLATLINE, what)),
                    missingData(params(merged, MISSING_DATA, what)),
                    baseline(params(merged, BASELINE, what)));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(source + ": " + e.getMessage(), e);
        }
    }

    private static RuleParams params(
            Map<String, Map<String, String>> merged, String type, String what) {
        Map<String, String> p = merged.get(type);
        if (p == null) {
            return null;
        }
        RuleParams params = new RuleParams(what + " " + type, p);
        return params.enabled() ? params : null;
    }

    private static DetectorRules.Alarm alarm(RuleParams p, String type, long defaultOffDelay) {
        return new DetectorRules.Alarm(
                p.name(type),
                p.severity(),
                p.millisOr("on-delay", 0),
                p.millisOr("off-delay", defaultOffDelay));
    }

    private static DetectorRules.Spike spike(RuleParams p) {
        if (p == null) {
            return null;
        }
        return new DetectorRules.Spike(
                alarm(p, SPIKE, 5_000),
                p.positive("delta"),
                positiveMillis(p, "within"),
                p.has("confirm") ? p.count("confirm", 0) : 0);
    }

    private static DetectorRules.OutOfRange outOfRange(RuleParams p) {
        if (p == null) {
            return null;
        }
        double low = p.has("low") ? p.number("low") : Double.NEGATIVE_INFINITY;
        double high = p.has("high") ? p.number("high") : Double.POSITIVE_INFINITY;
        if (!p.has("low") && !p.has("high")) {
            throw p.bad("low", "and 'high' are both missing; give at least one");
        }
        if (low >= high) {
            throw p.bad("low", "must be below high (" + high + ")");
        }
        double deadband = p.has("deadband") ? p.number("deadband") : 0;
        if (deadband < 0 || (Double.isFinite(high - low) && 2 * deadband >= high - low)) {
            throw p.bad("deadband", "must be at least 0 and less than half of high - low");
        }
        return new DetectorRules.OutOfRange(
                alarm(p, OUT_OF_RANGE, 5_000),
                low,
                high,
                p.has("count") ? p.count("count", 1) : 1,
                p.has("within") ? positiveMillis(p, "within") : 60_000,
                deadband);
    }

    private static DetectorRules.RateOfChange rateOfChange(RuleParams p) {
        if (p == null) {
            return null;
        }
        return new DetectorRules.RateOfChange(
                alarm(p, RATE_OF_CHANGE, 5_000),
                p.positive("max-per-second"),
                positiveMillis(p, "window"),
                p.has("min-readings") ? p.count("min-readings", 2) : 3);
    }

    private static DetectorRules.Flatline flatline(RuleParams p) {
        if (p == null) {
            return null;
        }
        if (!p.has("duration") && !p.has("count")) {
            throw p.bad("duration", "and 'count' are both missing; give at least one");
        }
        double epsilon = p.has("epsilon") ? p.number("epsilon") : 0;
        if (epsilon < 0) {
            throw p.bad("epsilon", "must not be negative");
        }
        return new DetectorRules.Flatline(
                alarm(p, FLATLINE, 0),
                epsilon,
                p.has("duration") ? p.millis("duration") : 0,
                p.has("count") ? p.count("count", 2) : 2);
    }

    private static DetectorRules.MissingData missingData(RuleParams p) {
        if (p == null) {
            return null;
        }
        return new DetectorRules.MissingData(alarm(p, MISSING_DATA, 0), positiveMillis(p, "after"));
    }

    private static DetectorRules.Baseline baseline(RuleParams p) {
        if (p == null) {
            return null;
        }
        double alpha = p.has("alpha") ? p.positive("alpha") : 0.02;
        if (alpha >= 1) {
            throw p.bad("alpha", "must be between 0 and 1");
        }
        return new DetectorRules.Baseline(
                alarm(p, BASELINE, 5_000),
                alpha,
                p.has("k") ? p.positive("k") : 6,
                p.has("warmup") ? p.count("warmup", 2) : 300,
                p.has("consecutive") ? p.count("consecutive", 1) : 3);
    }

    private static long positiveMillis(RuleParams p, String key) {
        long ms = p.millis(key);
        if (ms <= 0) {
            throw p.bad(key, "must be longer than 0");
        }
        return ms;
    }

    private static Map<String, Map<String, String>> rules(JsonNode node, String where) {
        Map<String, Map<String, String>> rules = new LinkedHashMap<>();
        if (node.isMissingNode() || node.isNull()) {
            return rules;
        }
        requireObject(node, where);
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String type = e.getKey();
            if (!RULE_TYPES.contains(type)) {
                throw new ConfigException(
                        where + ": unknown rule '" + type + "'; known: " + RULE_TYPES);
            }
            JsonNode body = e.getValue();
            Map<String, String> params = new LinkedHashMap<>();
            if (body.isBoolean()) {
                params.put("enabled", body.asText());
            } else {
                requireObject(body, where + "." + type);
                for (Iterator<Map.Entry<String, JsonNode>> p = body.fields(); p.hasNext(); ) {
                    Map.Entry<String, JsonNode> kv = p.next();
                    if (!COMMON_KEYS.contains(kv.getKey())
                            && !KEYS.get(type).contains(kv.getKey())) {
                        throw new ConfigException(
                                where
                                        + "."
                                        + type
                                        + ": unknown key '"
                                        + kv.getKey()
                                        + "'; known: "
                                        + KEYS.get(type)
                                        + " and "
                                        + COMMON_KEYS);
                    }
                    if (!kv.getValue().isValueNode()) {
                        throw new ConfigException(
                                where + "." + type + "." + kv.getKey() + ": must be one value");
                    }
                    params.put(kv.getKey(), kv.getValue().asText());
                }
            }
            rules.put(type, params);
        }
        return rules;
    }

    private static List<String> strings(JsonNode node, String where) {
        List<String> out = new ArrayList<>();
        if (node.isMissingNode() || node.isNull()) {
            return out;
        }
        if (node.isTextual()) {
            out.add(node.asText());
            return out;
        }
        if (!node.isArray()) {
            throw new ConfigException(where + ": must be a string or a list of strings");
        }
        node.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static SensorGlob glob(String g, String where) {
        try {
            return new SensorGlob(g);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(where + ": " + e.getMessage(), e);
        }
    }

    private static void requireObject(JsonNode node, String where) {
        if (!node.isObject()) {
            throw new ConfigException(where + ": must be a mapping");
        }
    }
}
