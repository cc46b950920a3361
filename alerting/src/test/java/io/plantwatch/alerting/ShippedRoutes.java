package io.plantwatch.alerting;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Routes with config/alerting.yaml's timings, for tests: 30 s wait, 5 min interval, 4 h repeat. */
final class ShippedRoutes {
    private ShippedRoutes() {}

    /** Every alert to {@code receiver}. */
    static Route to(String receiver) {
        return to(receiver, false, List.of());
    }

    static Route to(String receiver, boolean continueMatching, List<Route> children) {
        return new Route(
                receiver,
                List.of(),
                Map.of(),
                continueMatching,
                Duration.ofSeconds(30),
                Duration.ofMinutes(5),
                Duration.ofHours(4),
                children);
    }
}
