package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class GrouperTest {
    private static final Route ROUTE = ShippedRoutes.to("shift-lead");

    private static Alert alert(String id, String machine, String sensor, AlertState state) {
        return new Alert(
                id,
                SensorId.parse("dresden/press-shop/line-1/" + machine + "/" + sensor),
                "rule",
                AlertKind.SPIKE,
                Severity.WARNING,
                state,
                0,
                0,
                0,
                List.of(1.0),
                "m");
    }

    private static List<String> ids(Notification n) {
        return n.alerts().stream().map(a -> a.alertId() + ":" + a.state()).toList();
    }

    @Test
    void aBurstFromOneMachineIsOneNotificationAfterTheGroupWait() {
        Grouper g = new Grouper();
        g.accept(alert("a", "press-1", "oil-temp", AlertState.OPEN), List.of(ROUTE), 0);
        g.accept(alert("b", "press-1", "pressure", AlertState.OPEN), List.of(ROUTE), 5_000);
        g.accept(alert("c", "press-2", "oil-temp", AlertState.OPEN), List.of(ROUTE), 6_000);
        assertThat(g.due(29_999)).isEmpty();
        assertThat(g.nextDue()).isEqualTo(30_000);

        List<Notification> first = g.due(30_000);
        assertThat(first).hasSize(1);
        assertThat(first.get(0).groupKey())
                .isEqualTo("shift-lead/dresden/press-shop/line-1/press-1");
        assertThat(ids(first.get(0))).containsExactly("a:OPEN", "b:OPEN");
        assertThat(first.get(0).status()).isEqualTo(Notification.Status.FIRING);
        assertThat(g.due(36_000))
                .singleElement()
                .satisfies(n -> assertThat(ids(n)).containsExactly("c:OPEN"));
    }

    @Test
    void changesWaitTheGroupIntervalOpenAlertsRepeatAndAResolvedAlertIsToldOnce() {
        Grouper g = new Grouper();
        g.accept(alert("a", "press-1", "oil-temp", AlertState.OPEN), List.of(ROUTE), 0);
        assertThat(g.due(30_000)).hasSize(1);
        // The same state again (an at-least-once duplicate) changes nothing.
        g.accept(alert("a", "press-1", "oil-temp", AlertState.OPEN), List.of(ROUTE), 40_000);
        assertThat(g.nextDue()).isEqualTo(30_000 + Duration.ofHours(4).toMillis());

        g.accept(alert("b", "press-1", "pressure", AlertState.OPEN), List.of(ROUTE), 60_000);
        assertThat(g.due(329_999)).isEmpty();
        assertThat(ids(g.due(330_000).get(0))).containsExactly("a:OPEN", "b:OPEN");

        g.accept(alert("a", "press-1", "oil-temp", AlertState.RESOLVED), List.of(ROUTE), 400_000);
        assertThat(ids(g.due(630_000).get(0))).containsExactly("a:RESOLVED", "b:OPEN");
        long repeat = 630_000 + Duration.ofHours(4).toMillis();
        assertThat(g.due(repeat - 1)).isEmpty();
        assertThat(ids(g.due(repeat).get(0))).containsExactly("b:OPEN");

        g.accept(
                alert("b", "press-1", "pressure", AlertState.RESOLVED), List.of(ROUTE), repeat + 1);
        Notification last = g.due(repeat + Duration.ofMinutes(5).toMillis()).get(0);
        assertThat(last.status()).isEqualTo(Notification.Status.RESOLVED);
        assertThat(g.nextDue()).isEqualTo(-1);
    }

    @Test
    void aNotificationNotTakenGoesBackToItsGroupDueAGroupIntervalLater() {
        Grouper g = new Grouper();
        g.accept(alert("a", "press-1", "oil-temp", AlertState.OPEN), List.of(ROUTE), 0);
        g.due(30_000);
        g.accept(alert("a", "press-1", "oil-temp", AlertState.RESOLVED), List.of(ROUTE), 40_000);
        Notification resolved = g.due(330_000).get(0);
        assertThat(g.size()).isZero();

        g.undelivered(resolved, 400_000, a -> true);
        assertThat(g.nextDue()).isEqualTo(700_000);
        assertThat(g.due(699_999)).isEmpty();
        Notification again = g.due(700_000).get(0);
        assertThat(ids(again)).containsExactly("a:RESOLVED");
        assertThat(again.status()).isEqualTo(Notification.Status.RESOLVED);
        assertThat(g.nextDue()).isEqualTo(-1);
    }

    @Test
    void aLaterStateOrAnAlertNoLongerOwedIsNotPutBack() {
        Grouper g = new Grouper();
        g.accept(alert("a", "press-1", "oil-temp", AlertState.OPEN), List.of(ROUTE), 0);
        g.accept(alert("b", "press-1", "pressure", AlertState.OPEN), List.of(ROUTE), 0);
        Notification first = g.due(30_000).get(0);
        g.accept(alert("a", "press-1", "oil-temp", AlertState.RESOLVED), List.of(ROUTE), 40_000);

        // "a" has resolved since and "b" was shelved: the group's newer "a" stays, "b" stays out.
        g.withdraw("b");
        g.undelivered(first, 50_000, a -> !a.alertId().equals("b"));
        assertThat(ids(g.due(330_000).get(0))).containsExactly("a:RESOLVED");
        assertThat(g.size()).isZero();

        // A notification none of whose alerts is still owed brings no group back.
        g.undelivered(first, 400_000, a -> false);
        assertThat(g.size()).isZero();
        assertThat(g.nextDue()).isEqualTo(-1);
    }
}
