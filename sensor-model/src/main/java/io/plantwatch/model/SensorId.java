package io.plantwatch.model;

import java.util.Objects;

/**
 * Where a sensor sits in the plant, ISA-95 style: site, area, line, machine and the sensor itself.
 * Its string form {@link #id()} is the MQTT topic path below the namespace prefix and the Kafka
 * key, e.g. {@code dresden/press-shop/line-1/press-3/temp-1}.
 */
public record SensorId(String site, String area, String line, String machine, String sensor) {

    /** Longest accepted name of one level; longer names are almost always a bug upstream. */
    public static final int MAX_LEVEL_LENGTH = 64;

    public SensorId {
        requireLevel("site", site);
        requireLevel("area", area);
        requireLevel("line", line);
        requireLevel("machine", machine);
        requireLevel("sensor", sensor);
    }

    /** Parses {@code site/area/line/machine/sensor}; throws naming the level that is wrong. */
    public static SensorId parse(String id) {
        Objects.requireNonNull(id, "sensor id");
        String[] parts = id.split("/", -1);
        if (parts.length != 5) {
            throw new IllegalArgumentException(
                    "sensor id '"
                            + id
                            + "' must have 5 levels site/area/line/machine/sensor, it has "
                            + parts.length);
        }
        return new SensorId(parts[0], parts[1], parts[2], parts[3], parts[4]);
    }

    public String id() {
        return site + '/' + area + '/' + line + '/' + machine + '/' + sensor;
    }

    @Override
    public String toString() {
        return id();
    }

    /** Why {@code level} is not a valid topic level, or null when it is. */
    public static String levelProblem(String name, String level) {
        if (level == null || level.isEmpty()) {
            return name + " is empty";
        }
        if (level.length() > MAX_LEVEL_LENGTH) {
            return name + " is longer than " + MAX_LEVEL_LENGTH + " characters";
        }
        for (int i = 0; i < level.length(); i++) {
            char c = level.charAt(i);
            // Every id is checked again wherever it is read, so the common case, printable ASCII
            // above '/', is one comparison pair.
            if (c > '/' && c < 0x7f) {
                continue;
            }
            // A format character outside the basic plane (a tag, U+E0041) is a surrogate pair.
            if (c == '/' || c == '+' || c == '#' || invisible(level.codePointAt(i))) {
                return name + " '" + printable(level) + "' contains a forbidden character";
            }
        }
        return null;
    }

    private static void requireLevel(String name, String level) {
        String problem = levelProblem(name, level);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
    }

    /**
     * Whether {@code c} changes how text around it shows rather than showing itself: control
     * characters (an ANSI escape erases a console line, CR/LF forge one), format characters such as
     * bidi overrides (a name that reads backwards) and Unicode's line and paragraph separators.
     * Names and units carry none of them.
     */
    public static boolean invisible(int c) {
        if (c < 0x7f) {
            return c < 0x20;
        }
        if (Character.isISOControl(c)) {
            return true;
        }
        int type = Character.getType(c);
        return type == Character.FORMAT
                || type == Character.LINE_SEPARATOR
                || type == Character.PARAGRAPH_SEPARATOR;
    }

    /**
     * {@code s} as it may be shown to a person (a console line, a mail, a log line): each {@link
     * #invisible} character as {@code ?}, the rest as it is. For text from the plant that was not
     * checked on the way in, such as an alert's message or a record older than the checks.
     */
    public static String visible(String s) {
        StringBuilder b = null;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            int next = i + Character.charCount(c);
            if (invisible(c)) {
                if (b == null) {
                    b = new StringBuilder(s.length()).append(s, 0, i);
                }
                b.append('?');
            } else if (b != null) {
                b.append(s, i, next);
            }
            i = next;
        }
        return b == null ? s : b.toString();
    }

    /** {@code s} for an error message: {@link #visible}, cut at 80 characters. */
    public static String printable(String s) {
        return s.length() > 80 ? visible(s.substring(0, 80)) + "..." : visible(s);
    }
}
