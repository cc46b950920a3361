package io.plantwatch.sim.fleet;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The ground-truth label file: one JSON object per line, {@code {"sensor": ..., "kind":
 * "out-of-range", "start": ISO, "end": ISO, "start_ms": .., "end_ms": .., "readings": n, "params":
 * {..}}}. Written as anomalies close, flushed per line, so a killed run keeps what it injected.
 */
public final class LabelFile implements Closeable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final BufferedWriter out;

    private LabelFile(BufferedWriter out) {
        this.out = out;
    }

    public static LabelFile create(Path file) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            return new LabelFile(Files.newBufferedWriter(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "cannot write labels to " + file + ": " + e.getMessage(), e);
        }
    }

    public synchronized void write(Label l) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("sensor", l.sensor());
        line.put("kind", l.kind().cliName());
        line.put("start", Instant.ofEpochMilli(l.startMillis()).toString());
        line.put("end", Instant.ofEpochMilli(l.endMillis()).toString());
        line.put("start_ms", l.startMillis());
        line.put("end_ms", l.endMillis());
        line.put("readings", l.readings());
        line.put("params", l.params());
        try {
            out.write(JSON.writeValueAsString(line));
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public synchronized void close() throws IOException {
        out.close();
    }

    /**
     * Reads a label file back; a line that is not a label is an {@link IllegalArgumentException}
     * naming the file and the line.
     */
    public static List<Label> read(Path file) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + " does not exist", e);
        }
        List<Label> labels = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) {
                continue;
            }
            try {
                labels.add(parse(line));
            } catch (IllegalArgumentException | ClassCastException e) {
                throw new IllegalArgumentException(
                        file
                                + " line "
                                + (i + 1)
                                + ": not a sensor-sim label ("
                                + (e instanceof ClassCastException
                                        ? "a value of the wrong type"
                                        : e.getMessage())
                                + "); a label is a JSON object with sensor, kind, start_ms,"
                                + " end_ms, readings",
                        e);
            }
        }
        return labels;
    }

    private static Label parse(String line) {
        Map<String, Object> m;
        try {
            m = JSON.readValue(line, new TypeReference<>() {});
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a JSON object", e);
        }
        if (m == null) {
            throw new IllegalArgumentException("not a JSON object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> params = (Map<String, Object>) m.getOrDefault("params", Map.of());
        return new Label(
                (String) required(m, "sensor"),
                AnomalyKind.parse((String) required(m, "kind")),
                ((Number) required(m, "start_ms")).longValue(),
                ((Number) required(m, "end_ms")).longValue(),
                ((Number) required(m, "readings")).intValue(),
                params == null ? Map.of() : params);
    }

    private static Object required(Map<String, Object> m, String key) {
        Object v = m.get(key);
        if (v == null) {
            throw new IllegalArgumentException("no " + key);
        }
        return v;
    }
}
