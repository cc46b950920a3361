package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.ConfigException;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RoutingTest {
    private static final Set<String> RECEIVERS =
            Set.of("shift-lead", "pager", "press-andon", "oven");

    private static JsonNode yaml(String text) throws Exception {
        return new ObjectMapper(new YAMLFactory()).readTree(text).get("route");
    }

    private static Alert alert(String sensor, Severity severity, AlertKind kind) {
        return new Alert(
                "id",
                SensorId.parse(sensor),
                "rule-1",
                kind,
                severity,
                AlertState.OPEN,
                0,
                0,
                0,
                List.of(1.0),
                "m");
    }

    private static final String TREE =
            """
            route:
              receiver: shift-lead
              group-wait: 10s
              routes:
                - match: {severity: CRITICAL}
                  receiver: pager
                  continue: true
                - sensors: ["dresden/press-shop/line-1/**"]
                  receiver: press-andon
                  repeat-interval: 1h
                  routes:
                    - match: {kind: [FLATLINE, MISSING_DATA]}
                      receiver: shift-lead
                - match: {machine: [oven-1, oven-2]}
                  receiver: oven
            """;

    private static List<String> receivers(Route root, Alert a) {
        return root.resolve(a).stream().map(Route::receiver).toList();
    }

    @Test
    void anAlertDescendsToTheDeepestMatchingRouteAndContinueTriesTheNextSiblings()
            throws Exception {
        Route root = Routing.parse(yaml(TREE), RECEIVERS, "alerting.yaml");
        String press = "dresden/press-shop/line-1/press-1/oil-temp";
        assertThat(receivers(root, alert(press, Severity.WARNING, AlertKind.SPIKE)))
                .containsExactly("press-andon");
        assertThat(receivers(root, alert(press, Severity.CRITICAL, AlertKind.SPIKE)))
                .containsExactly("pager", "press-andon");
        assertThat(receivers(root, alert(press, Severity.WARNING, AlertKind.FLATLINE)))
                .containsExactly("shift-lead");
        assertThat(
                        receivers(
                                root,
                                alert(
                                        "dresden/press-shop/line-2/oven-1/zone-1-temp",
                                        Severity.INFO,
                                        AlertKind.DRIFT)))
                .containsExactly("oven");
        // Nothing matches: the default route.
        assertThat(receivers(root, alert("leipzig/a/b/c/d", Severity.INFO, AlertKind.DRIFT)))
                .containsExactly("shift-lead");
    }

    @Test
    void timingsAreInheritedDownTheTree() throws Exception {
        Route root = Routing.parse(yaml(TREE), RECEIVERS, "alerting.yaml");
        Route flat =
                root.resolve(
                                alert(
                                        "dresden/press-shop/line-1/press-1/oil-temp",
                                        Severity.WARNING,
                                        AlertKind.FLATLINE))
                        .get(0);
        assertThat(flat.groupWait()).isEqualTo(Duration.ofSeconds(10));
        assertThat(flat.repeatInterval()).isEqualTo(Duration.ofHours(1));
        assertThat(flat.groupInterval()).isEqualTo(Duration.ofMinutes(5));
    }

    @Test
    void everyMistakeIsOneErrorNamingTheRouteAndTheKey() {
        assertThatThrownBy(
                        () ->
                                Routing.parse(
                                        yaml("route: {receiver: nobody}"),
                                        RECEIVERS,
                                        "alerting.yaml"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("alerting.yaml: route.receiver names 'nobody'");
        assertThatThrownBy(
                        () ->
                                Routing.parse(
                                        yaml(
                                                "route: {receiver: pager, routes: [{match: {colour: red},"
                                                        + " receiver: oven}]}"),
                                        RECEIVERS,
                                        "alerting.yaml"))
                .hasMessageContaining("route.routes[0].match.colour is not a label");
        assertThatThrownBy(
                        () ->
                                Routing.parse(
                                        yaml(
                                                "route: {receiver: pager, routes: [{receiver: oven}]}"),
                                        RECEIVERS,
                                        "alerting.yaml"))
                .hasMessageContaining("route.routes[0].match is missing");
        assertThatThrownBy(
                        () ->
                                Routing.parse(
                                        yaml("route: {receiver: pager, group-wait: soon}"),
                                        RECEIVERS,
                                        "alerting.yaml"))
                .hasMessageContaining("route.group-wait");
    }

    /**
     * A repeat interval of 0 re-sent every open group on every tick of the dispatcher; a child
     * route is checked as the root is.
     */
    @Test
    void intervalsOutOfRangeAreRefusedWithTheAllowedRange() throws Exception {
        assertThatThrownBy(
                        () ->
                                Routing.parse(
                                        yaml("route: {receiver: pager, repeat-interval: 0s}"),
                                        RECEIVERS,
                                        "alerting.yaml"))
                .isInstanceOf(ConfigException.class)
                .hasMessage(
                        "alerting.yaml: route.repeat-interval 0s is out of range; allowed: 1m or"
                                + " more");
        assertThatThrownBy(
                        () ->
                                Routing.parse(
                                        yaml(
                                                "route: {receiver: pager, routes: [{match:"
                                                        + " {severity: CRITICAL}, group-interval:"
                                                        + " 0s}]}"),
                                        RECEIVERS,
                                        "alerting.yaml"))
                .hasMessage(
                        "alerting.yaml: route.routes[0].group-interval 0s is out of range;"
                                + " allowed: 1ms or more");
        assertThat(
                        Routing.parse(
                                        yaml("route: {receiver: pager, group-wait: 0s}"),
                                        RECEIVERS,
                                        "alerting.yaml")
                                .groupWait())
                .isZero();
    }
}
