package io.plantwatch.model;

import java.io.Serializable;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A pattern over sensor ids: {@code *} matches within one level, {@code **} across levels, {@code
 * ?} one character, {@code {a,b}} alternatives, {@code [a-z]} and {@code [!0-9]} one character of a
 * class, {@code \} escapes; e.g. {@code dresden/**}/oil-temp}. The syntax and meaning of the JDK's
 * {@code glob:} path matchers, but matched on the text: a path is encoded in the platform's file
 * name encoding, and a sensor id with a letter outside it (köln under a C locale) made {@code
 * Path.of} throw on data. Serializable so Flink operators can carry it; the pattern is compiled
 * lazily on each side.
 */
public final class SensorGlob implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String glob;
    private transient Pattern pattern;

    /**
     * @throws IllegalArgumentException naming the glob when it does not compile
     */
    public SensorGlob(String glob) {
        this.glob = Objects.requireNonNull(glob, "glob");
        if (glob.isBlank()) {
            throw new IllegalArgumentException("sensor glob is empty");
        }
        pattern();
    }

    private Pattern pattern() {
        if (pattern == null) {
            try {
                pattern = Pattern.compile(regex(glob));
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException(
                        "sensor glob '" + glob + "' is invalid: " + e.getDescription(), e);
            }
        }
        return pattern;
    }

    public boolean matches(String sensorId) {
        return pattern().matcher(sensorId).matches();
    }

    public String glob() {
        return glob;
    }

    @Override
    public String toString() {
        return glob;
    }

    private static final String REGEX_META = ".^$+{[]|()";
    private static final String GLOB_META = "\\*?[{";
    private static final char EOL = 0;

    private static char next(String glob, int i) {
        return i < glob.length() ? glob.charAt(i) : EOL;
    }

    /** The JDK's translation of a Unix glob (sun.nio.fs.Globs), which is not public. */
    static String regex(String glob) {
        boolean inGroup = false;
        StringBuilder regex = new StringBuilder("^");
        int i = 0;
        while (i < glob.length()) {
            char c = glob.charAt(i++);
            switch (c) {
                case '\\' -> {
                    if (i == glob.length()) {
                        throw new PatternSyntaxException("No character to escape", glob, i - 1);
                    }
                    char next = glob.charAt(i);
                    if (GLOB_META.indexOf(next) >= 0 || REGEX_META.indexOf(next) >= 0) {
                        regex.append('\\');
                    }
                    regex.append(next);
                    i++;
                }
                case '/' -> regex.append(c);
                case '[' -> {
                    // No class matches the level separator.
                    regex.append("[[^/]&&[");
                    if (next(glob, i) == '^') {
                        regex.append("\\^");
                        i++;
                    } else {
                        if (next(glob, i) == '!') {
                            regex.append('^');
                            i++;
                        }
                        if (next(glob, i) == '-') {
                            regex.append('-');
                            i++;
                        }
                    }
                    boolean hasRangeStart = false;
                    char last = 0;
                    while (i < glob.length()) {
                        c = glob.charAt(i++);
                        if (c == ']') {
                            break;
                        }
                        if (c == '/') {
                            throw new PatternSyntaxException(
                                    "Explicit 'name separator' in class", glob, i - 1);
                        }
                        if (c == '\\' || c == '[' || c == '&' && next(glob, i) == '&') {
                            regex.append('\\');
                        }
                        regex.append(c);
                        if (c == '-') {
                            if (!hasRangeStart) {
                                throw new PatternSyntaxException("Invalid range", glob, i - 1);
                            }
                            if ((c = next(glob, i++)) == EOL || c == ']') {
                                break;
                            }
                            if (c < last) {
                                throw new PatternSyntaxException("Invalid range", glob, i - 3);
                            }
                            regex.append(c);
                            hasRangeStart = false;
                        } else {
                            hasRangeStart = true;
                            last = c;
                        }
                    }
                    if (c != ']') {
                        throw new PatternSyntaxException("Missing ']", glob, i - 1);
                    }
                    regex.append("]]");
                }
                case '{' -> {
                    if (inGroup) {
                        throw new PatternSyntaxException("Cannot nest groups", glob, i - 1);
                    }
                    regex.append("(?:(?:");
                    inGroup = true;
                }
                case '}' -> {
                    if (inGroup) {
                        regex.append("))");
                        inGroup = false;
                    } else {
                        regex.append('}');
                    }
                }
                case ',' -> regex.append(inGroup ? ")|(?:" : ",");
                case '*' -> {
                    if (next(glob, i) == '*') {
                        regex.append(".*");
                        i++;
                    } else {
                        regex.append("[^/]*");
                    }
                }
                case '?' -> regex.append("[^/]");
                default -> {
                    if (REGEX_META.indexOf(c) >= 0) {
                        regex.append('\\');
                    }
                    regex.append(c);
                }
            }
        }
        if (inGroup) {
            throw new PatternSyntaxException("Missing '}", glob, i - 1);
        }
        return regex.append('$').toString();
    }
}
