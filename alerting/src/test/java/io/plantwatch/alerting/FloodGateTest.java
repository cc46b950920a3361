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
}
