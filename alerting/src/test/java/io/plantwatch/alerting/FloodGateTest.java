package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FloodGateTest {
    private static Notification n(int i, String receiver) {
        return new Notification(
                "n-" + i, receiver, receiver + "/m", Notification.Status.FIRING, List.of());
    }

    @Test
    void beyondTheLimitOneSummaryThenNothingUntilTheWindowMovesOn() {
        FloodGate gate = new FloodGate(5, 600_000);
        List<Notification> out = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            out.addAll(gate.admit(n(i, "pager"), i * 1_000L, false));
        }
        assertThat(out).hasSize(6);
        assertThat(out.subList(0, 5)).allMatch(x -> x.status() == Notification.Status.FIRING);
        assertThat(out.get(5).status()).isEqualTo(Notification.Status.SUMMARY);
        // The summary stands in for the sixth, so 44 are held, as many as nothing went out for.
        assertThat(out.get(5).id()).isEqualTo("n-5-flood");
        assertThat(gate.held("pager")).isEqualTo(44);
        assertThat(gate.held("andon")).isZero();
        // Another receiver has its own budget.
        assertThat(gate.admit(n(99, "andon"), 50_000, false)).hasSize(1);
        // Ten minutes after the first, the window has room again.
        assertThat(gate.admit(n(100, "pager"), 600_000, false))
                .extracting(Notification::id)
                .containsExactly("n-100");
    }

    /**
     * A storm of warnings does not hold back an urgent notification (a CRITICAL alert its receiver
     * has not had): it goes, and uses up room; the rest waits its turn.
     */
    @Test
    void anUrgentNotificationPassesAFlood() {
        FloodGate gate = new FloodGate(2, 600_000);
        for (int i = 0; i < 5; i++) {
            gate.admit(n(i, "pager"), i, false);
        }
        assertThat(gate.held("pager")).isEqualTo(2);
        Notification critical = withAlert(7, AlertState.OPEN, Severity.CRITICAL);
        assertThat(gate.admit(critical, 10, true)).containsExactly(critical);
        assertThat(gate.admit(withAlert(8, AlertState.OPEN, Severity.CRITICAL), 11, false))
                .isEmpty();
        assertThat(gate.held("pager")).isEqualTo(3);
    }

    private static Notification withAlert(int i, AlertState state, Severity severity) {
        Alert a =
                new Alert(
                        "a-" + i,
                        SensorId.parse("s/a/l/m/x"),
                        "r",
                        AlertKind.SPIKE,
                        severity,
                        state,
                        0,
                        0,
                        0,
                        List.of(1.0),
                        "m");
        return new Notification(
                "n-" + i, "pager", "pager/s/a/l/m", Notification.Status.FIRING, List.of(a));
    }

    /** A notification that did not reach its receiver, summary or not, uses up no room. */
    @Test
    void aNotificationNotDeliveredIsRefundedSoItsRetryIsNotHeld() {
        FloodGate gate = new FloodGate(1, 600_000);
        Notification first = gate.admit(n(1, "pager"), 1_000, false).get(0);
        gate.refund(first, 1_000);
        assertThat(gate.admit(n(2, "pager"), 2_000, false))
                .extracting(Notification::id)
                .containsExactly("n-2");
        Notification summary = gate.admit(n(3, "pager"), 3_000, false).get(0);
        assertThat(summary.status()).isEqualTo(Notification.Status.SUMMARY);
        assertThat(gate.admit(n(4, "pager"), 4_000, false)).isEmpty();
        gate.refund(summary, 3_000);
        assertThat(gate.admit(n(5, "pager"), 5_000, false))
                .extracting(Notification::status)
                .containsExactly(Notification.Status.SUMMARY);
        assertThat(gate.held("pager")).isEqualTo(1);
    }
}
