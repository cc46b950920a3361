package io.plantwatch.model;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads a config file the one way every module does: a missing file, a syntax error (with its
 * line), a key written twice (YAML keeps the last one, silently) and a top level that is not a
 * mapping of settings are each one line naming the file.
 */
public final class YamlFiles {
    private static final ObjectMapper YAML =
            new ObjectMapper(
                    YAMLFactory.builder()
                            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                            .build());

    private YamlFiles() {}

    /**
     * The file and every file it names in a {@code *-file} key (secrets, CA certificates), at any
     * depth, as far as it can be read: what a watch of the file reads again for a change ({@link
     * ConfigWatch}). Checks nothing; the module's own loading does.
     */
    public static java.util.List<Path> namedFiles(Path file) {
        java.util.List<Path> files = new java.util.ArrayList<>();
        files.add(file);
        try {
            collectNamedFiles(readMapping(file), files);
        } catch (RuntimeException e) {
            // Not valid yet: it names nothing; loading says what is wrong.
        }
        return files;
    }

    private static void collectNamedFiles(JsonNode node, java.util.List<Path> files) {
        if (node.isArray()) {
            node.forEach(n -> collectNamedFiles(n, files));
        } else if (node.isObject()) {
            node.fields()
                    .forEachRemaining(
                            e -> {
                                if (e.getKey().endsWith("-file") && e.getValue().isTextual()) {
                                    files.add(Path.of(e.getValue().asText()));
                                } else {
                                    collectNamedFiles(e.getValue(), files);
                                }
                            });
        }
    }

    /**
     * YAML text as a tree, null when it holds nothing; {@code source} names it in the one line a
     * syntax error or a key written twice makes (with the line, not the parser's several lines
     * quoting the text).
     */
    public static JsonNode parse(String text, String source) {
        try {
            return YAML.readTree(text);
        } catch (JacksonException e) {
            int line = e.getLocation() == null ? -1 : e.getLocation().getLineNr();
            String message = String.valueOf(e.getOriginalMessage()).strip();
            int newline = message.indexOf('\n');
            String problem = newline < 0 ? message : message.substring(0, newline).strip();
            for (Throwable c = e; c != null; c = c.getCause()) {
                if (c instanceof org.yaml.snakeyaml.error.MarkedYAMLException m
                        && m.getProblem() != null) {
                    // The parser's first line is its context ("while parsing a block mapping");
                    // what is wrong, and where, is its problem.
                    problem = m.getProblem().strip();
                    if (m.getProblemMark() != null) {
                        line = m.getProblemMark().getLine() + 1;
                    }
                    break;
                }
            }
            throw new ConfigException(
                    source
                            + " is not valid YAML"
                            + (line < 0 ? "" : " (line " + line + ")")
                            + ": "
                            + problem.replaceAll("\\s+", " "),
                    e);
        }
    }

    /**
     * The file's mapping. An empty file is refused: it is more often a truncated copy or a wrong
     * path than a wish for every default (and an empty rules file would detect nothing), so every
     * default is asked for with <code>{}</code>.
     */
    public static JsonNode readMapping(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file + " does not exist", e);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new ConfigException(
                    file + " is not UTF-8 text (saved in another encoding, or not a text file)", e);
        } catch (IOException e) {
            throw new ConfigException("cannot read " + file + ": " + e.getMessage(), e);
        }
        JsonNode root = parse(text, file.toString());
        if (root == null || root.isMissingNode() || root.isNull()) {
            throw new ConfigException(
                    file + " is empty (or only comments); write {} in it to take every default");
        }
        if (!root.isObject()) {
            throw new ConfigException(file + ": the top level must be a mapping of settings");
        }
        return root;
    }
}
