package io.plantwatch.job;

import io.plantwatch.job.rules.DetectorRules;
import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.SensorReading;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Resolved rules by sensor, shared by every operator of the task manager that holds an equal rule
 * book: each operator gets its own deserialized copy of the book, and resolving a sensor (globs,
 * merging, parsing durations) costs far more than a reading, so a fleet of 100,000 sensors was
 * resolved six times over. Not state: rebuilt from the rule book after a restore, so a changed
 * rules file takes effect on restart. Equal rule sets are shared.
 */
final class RuleCache {
    private static final Map<String, Map<String, DetectorRules>> BY_BOOK =
            new ConcurrentHashMap<>();
    private static final Map<DetectorRules, DetectorRules> INTERNED = new ConcurrentHashMap<>();

    private final RuleBook book;
    private final Map<String, DetectorRules> bySensor;

    RuleCache(RuleBook book) {
        this.book = book;
        this.bySensor = BY_BOOK.computeIfAbsent(fingerprint(book), f -> new ConcurrentHashMap<>());
    }

    DetectorRules rulesFor(SensorReading r) {
        String key = r.key();
        DetectorRules rules = bySensor.get(key);
        if (rules == null) {
            rules = INTERNED.computeIfAbsent(book.resolve(key, r.unit()), x -> x);
            bySensor.put(key, rules);
        }
        return rules;
    }

    /** The book's identity by content: a digest of its serialized form. */
    private static String fingerprint(RuleBook book) {
        try (ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(book);
            out.flush();
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(bytes.toByteArray()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
