package io.plantwatch.sim.fleet;

import java.util.Map;

/**
 * Ground truth for one injected anomaly: which sensor, what, and the event times of the first and
 * the last reading it touched (for a dropout: that went missing).
 */
public record Label(
        String sensor,
        AnomalyKind kind,
        long startMillis,
        long endMillis,
        int readings,
        Map<String, Object> params) {

    public Label {
        params = Map.copyOf(params);
    }
}
