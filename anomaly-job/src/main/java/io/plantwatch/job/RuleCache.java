package io.plantwatch.job;

import io.plantwatch.job.rules.DetectorRules;
import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.SensorReading;
import java.util.HashMap;
import java.util.Map;

/**
 * Each operator's resolved rules by sensor. Not state: it is rebuilt from the rule book after a
 * restore, so a changed rules file takes effect on restart. Equal rule sets are shared.
 */
final class RuleCache {
    private final RuleBook book;
    private final Map<String, DetectorRules> bySensor = new HashMap<>();
    private final Map<DetectorRules, DetectorRules> interned = new HashMap<>();

    RuleCache(RuleBook book) {
        this.book = book;
    }

    DetectorRules rulesFor(SensorReading r) {
        String key = AnomalyPipeline.keyOf(r);
        DetectorRules rules = bySensor.get(key);
        if (rules == null) {
            rules = interned.computeIfAbsent(book.resolve(key, r.unit()), x -> x);
            bySensor.put(key, rules);
        }
        return rules;
    }
}
