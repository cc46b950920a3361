package io.plantwatch.model;

import java.util.ArrayList;
import java.util.List;

/**
 * What was wrong with the parts of one message that hold several readings: the message goes to the
 * DLQ once, its detail naming the first {@value #SHOWN} problems and counting the rest, with the
 * first problem's reason. Bounded, so a message of many bad parts makes a DLQ record Kafka takes.
 */
public final class Problems {
    static final int SHOWN = 5;

    private final List<String> shown = new ArrayList<>(SHOWN);
    private RejectReason first;
    private int count;

    public void add(RejectReason reason, String problem) {
        if (first == null) {
            first = reason;
        }
        if (shown.size() < SHOWN) {
            shown.add(problem);
        }
        count++;
    }

    public boolean isEmpty() {
        return count == 0;
    }

    /** The rejection of what was wrong, or null when nothing was. */
    public <T> Parsed.Rejected<T> rejection() {
        if (count == 0) {
            return null;
        }
        return new Parsed.Rejected<>(
                first,
                String.join("; ", shown)
                        + (count > SHOWN ? "; and " + (count - SHOWN) + " more" : ""));
    }
}
