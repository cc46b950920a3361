package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;

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
            out.addAll(gate.admit(n(i, "pager"), i * 1_000L));
        }
        assertThat(out).hasSize(6);
        assertThat(out.subList(0, 5)).allMatch(x -> x.status() == Notification.Status.FIRING);
        assertThat(out.get(5).status()).isEqualTo(Notification.Status.SUMMARY);
        // The summary stands in for the sixth, so 44 are held, as many as nothing went out for.
        assertThat(out.get(5).id()).isEqualTo("n-5-flood");
        assertThat(gate.held("pager")).isEqualTo(44);
        assertThat(gate.held("andon")).isZero();
        // Another receiver has its own budget.
        assertThat(gate.admit(n(99, "andon"), 50_000)).hasSize(1);
        // Ten minutes after the first, the window has room again.
        assertThat(gate.admit(n(100, "pager"), 600_000))
                .extracting(Notification::id)
                .containsExactly("n-100");
    }

    /** A notification that did not reach its receiver, summary or not, uses up no room. */
    @Test
    void aNotificationNotDeliveredIsRefundedSoItsRetryIsNotHeld() {
        FloodGate gate = new FloodGate(1, 600_000);
        Notification first = gate.admit(n(1, "pager"), 1_000).get(0);
        gate.refund(first, 1_000);
        assertThat(gate.admit(n(2, "pager"), 2_000))
                .extracting(Notification::id)
                .containsExactly("n-2");
        Notification summary = gate.admit(n(3, "pager"), 3_000).get(0);
        assertThat(summary.status()).isEqualTo(Notification.Status.SUMMARY);
        assertThat(gate.admit(n(4, "pager"), 4_000)).isEmpty();
        gate.refund(summary, 3_000);
        assertThat(gate.admit(n(5, "pager"), 5_000))
                .extracting(Notification::status)
                .containsExactly(Notification.Status.SUMMARY);
        assertThat(gate.held("pager")).isEqualTo(1);
    }
}
