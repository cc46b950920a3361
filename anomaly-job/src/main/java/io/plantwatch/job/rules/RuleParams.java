package io.plantwatch.job.rules;

import io.plantwatch.model.Durations;
import io.plantwatch.model.Severity;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;

/** Typed reads of one rule's merged parameters, each error naming the rule, the key and where. */
final class RuleParams {
    private final String where;
    private final Map<String, String> values;

    RuleParams(String where, Map<String, String> values) {
        this.where = where;
        this.values = values;
    }

    IllegalArgumentException bad(String key, String why) {
        return new IllegalArgumentException(
                where + ": '" + key + "' (" + values.get(key) + ") " + why);
    }

    boolean enabled() {
        return !values.containsKey("enabled") || bool("enabled");
    }

    boolean has(String key) {
        return values.get(key) != null;
    }

    String name(String fallback) {
        String n = values.get("name");
        if (n != null && (n.indexOf('\n') >= 0 || n.indexOf('\r') >= 0)) {
            // The name is in alert ids and messages, one line each.
            throw bad("name", "must be one line");
        }
        return n == null || n.isBlank() ? fallback : n;
    }

    boolean bool(String key) {
        String v = values.get(key).strip().toLowerCase(Locale.ROOT);
        if (v.equals("true") || v.equals("yes") || v.equals("on")) {
            return true;
        }
        if (v.equals("false") || v.equals("no") || v.equals("off")) {
            return false;
        }
        throw bad(key, "must be true or false");
    }

    double number(String key) {
        String v = values.get(key);
        if (v == null) {
            throw bad(key, "is required");
        }
        try {
            double d = Double.parseDouble(v.strip());
            if (!Double.isFinite(d)) {
                throw bad(key, "must be finite");
            }
            return d;
        } catch (NumberFormatException e) {
            throw bad(key, "is not a number");
        }
    }

    double positive(String key) {
        double d = number(key);
        if (d <= 0) {
            throw bad(key, "must be greater than 0");
        }
        return d;
    }

    int count(String key, int min) {
        String v = values.get(key);
        if (v == null) {
            throw bad(key, "is required");
        }
        try {
            int n = Integer.parseInt(v.strip());
            if (n < min) {
                throw bad(key, "must be at least " + min);
            }
            return n;
        } catch (NumberFormatException e) {
            throw bad(key, "is not a whole number");
        }
    }

    long millis(String key) {
        String v = values.get(key);
        if (v == null) {
            throw bad(key, "is required");
        }
        try {
            Duration d = Durations.parse(v);
            if (d.isNegative()) {
                throw bad(key, "must not be negative");
            }
            return d.toMillis();
        } catch (IllegalArgumentException e) {
            throw bad(key, "is not a duration like 500ms, 30s, 5m or 1h");
        }
    }

    long millisOr(String key, long fallback) {
        return has(key) ? millis(key) : fallback;
    }

    Severity severity() {
        String v = values.getOrDefault("severity", "WARNING");
        try {
            return Severity.valueOf(v.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw bad("severity", "must be INFO, WARNING or CRITICAL");
        }
    }
}
