package io.plantwatch.model;

import java.io.Serializable;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.Objects;
import java.util.regex.PatternSyntaxException;

/**
 * A pattern over sensor ids: {@code *} matches within one level, {@code **} across levels, {@code
 * ?} one character, {@code {a,b}} alternatives; e.g. {@code dresden/**}/oil-temp}. Serializable so
 * Flink operators can carry it; the matcher is compiled lazily on each side.
 */
public final class SensorGlob implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String glob;
    private transient PathMatcher matcher;

    /**
     * @throws IllegalArgumentException naming the glob when it does not compile
     */
    public SensorGlob(String glob) {
        this.glob = Objects.requireNonNull(glob, "glob");
        if (glob.isBlank()) {
            throw new IllegalArgumentException("sensor glob is empty");
        }
        matcher();
    }

    private PathMatcher matcher() {
        if (matcher == null) {
            try {
                matcher = FileSystems.getDefault().getPathMatcher("glob:" + glob);
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException(
                        "sensor glob '" + glob + "' is invalid: " + e.getDescription(), e);
            }
        }
        return matcher;
    }

    public boolean matches(String sensorId) {
        return matcher().matches(Path.of(sensorId));
    }

    public String glob() {
        return glob;
    }

    @Override
    public String toString() {
        return glob;
    }
}
