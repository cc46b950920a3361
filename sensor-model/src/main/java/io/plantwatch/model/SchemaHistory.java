package io.plantwatch.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;

/**
 * Every version of one Avro schema family, loaded from {@code schema/<family>/v<N>.avsc} on the
 * classpath. The newest version is what writers use; older ones let readers decode old records.
 * Versions are never edited, only added, and only by appending fields with defaults: a test checks
 * both, so a change that breaks older readers fails the build.
 */
public final class SchemaHistory {

    private final String family;
    private final List<Schema> versions;

    private SchemaHistory(String family, List<Schema> versions) {
        this.family = family;
        this.versions = List.copyOf(versions);
    }

    public static SchemaHistory load(String family) {
        List<Schema> versions = new ArrayList<>();
        for (int v = 1; ; v++) {
            String path = "schema/" + family + "/v" + v + ".avsc";
            try (InputStream in = SchemaHistory.class.getResourceAsStream(path)) {
                if (in == null) {
                    break;
                }
                versions.add(new Schema.Parser().parse(in));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + path, e);
            }
        }
        if (versions.isEmpty()) {
            throw new IllegalStateException("no schema versions found for " + family);
        }
        return new SchemaHistory(family, versions);
    }

    public String family() {
        return family;
    }

    /** The newest version number; writers stamp it into every frame. */
    public int currentVersion() {
        return versions.size();
    }

    public Schema current() {
        return versions.get(versions.size() - 1);
    }

    /** The schema of version {@code v} (1-based), or null when this reader does not know it. */
    public Schema version(int v) {
        return v >= 1 && v <= versions.size() ? versions.get(v - 1) : null;
    }
}
