package io.plantwatch.sim.fleet;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Reads the simulator's YAML files (fleet, scenario) into their classes. Every mistake is one line
 * naming the file, the line and what is wrong, in the words of sensor-model's {@code YamlFiles}:
 * the people who write these files should never see a Java class name.
 */
final class YamlInput {

    // A key written twice would otherwise keep its last value without a word.
    private static final ObjectMapper YAML =
            new ObjectMapper(
                            YAMLFactory.builder()
                                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                                    .build())
                    .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private YamlInput() {}

    static <T> T read(Path file, Class<T> type) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + " does not exist", e);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
        }
        try {
            return YAML.readValue(bytes, type);
        } catch (UnrecognizedPropertyException e) {
            throw new IllegalArgumentException(
                    at(file, e.getLocation())
                            + ": unknown key "
                            + e.getPropertyName()
                            + " (known: "
                            + names(e.getReferringClass(), e.getKnownPropertyIds())
                            + ")",
                    e);
        } catch (MismatchedInputException e) {
            throw new IllegalArgumentException(
                    at(file, e.getLocation()) + ": " + key(e) + expected(e.getTargetType()), e);
        } catch (JsonMappingException e) {
            // Databind wraps what the parser found (a key written twice, say) on its way up.
            if (e.getCause() instanceof StreamReadException syntax) {
                throw notYaml(file, syntax);
            }
            throw new IllegalArgumentException(
                    at(file, e.getLocation()) + ": " + key(e) + e.getOriginalMessage(), e);
        } catch (JacksonException e) {
            throw notYaml(file, e);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static IllegalArgumentException notYaml(Path file, JacksonException e) {
        String where = e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")";
        return new IllegalArgumentException(
                file + " is not valid YAML" + where + ": " + e.getOriginalMessage().strip(), e);
    }

    private static String at(Path file, JsonLocation location) {
        return location == null || location.getLineNr() < 1
                ? file.toString()
                : file + " line " + location.getLineNr();
    }

    private static String key(JsonMappingException e) {
        List<JsonMappingException.Reference> path = e.getPath();
        for (int i = path.size() - 1; i >= 0; i--) {
            if (path.get(i).getFieldName() != null) {
                return path.get(i).getFieldName() + ": ";
            }
        }
        return "";
    }

    private static String expected(Class<?> type) {
        if (type == null) {
            return "not the expected kind of value";
        }
        if (Number.class.isAssignableFrom(type) || type.isPrimitive()) {
            return "expected a number";
        }
        if (type == String.class) {
            return "expected a single value, not a list or mapping";
        }
        if (Collection.class.isAssignableFrom(type)) {
            return "expected a list";
        }
        return "expected a mapping of keys";
    }

    /** The known keys in the order the class declares them, which is the order files use. */
    private static String names(Class<?> type, Collection<Object> ids) {
        List<String> declared = new ArrayList<>();
        if (type != null) {
            for (Field f : type.getDeclaredFields()) {
                JsonProperty p = f.getAnnotation(JsonProperty.class);
                if (p != null) {
                    declared.add(p.value().isEmpty() ? f.getName() : p.value());
                }
            }
        }
        return ids.stream()
                .map(String::valueOf)
                .sorted(
                        Comparator.comparingInt(
                                        (String k) ->
                                                declared.contains(k)
                                                        ? declared.indexOf(k)
                                                        : Integer.MAX_VALUE)
                                .thenComparing(Comparator.naturalOrder()))
                .collect(Collectors.joining(", "));
    }
}
