package io.plantwatch.job;

import static io.plantwatch.job.Harnesses.T0;
import static io.plantwatch.job.Harnesses.reading;
import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.job.rules.PatternShape;
import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.AlertKind;
import java.util.List;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.cep.functions.PatternProcessFunction;
import org.apache.flink.cep.nfa.compiler.NFACompiler;
import org.apache.flink.cep.operator.CepOperator;
import org.apache.flink.cep.pattern.Pattern;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The two CEP detectors, each in Flink's CEP operator under a keyed harness. */
class CepPatternsTest {
    private static final RuleBook RULES =
            RuleBook.parse(
                    "defaults: {spike: {delta: 8, within: 30s, confirm: 1},"
                            + " out-of-range: {high: 95, count: 3, within: 1m}}",
                    "test rules");

    private KeyedOneInputStreamOperatorTestHarness<String, Observation, Signal> h;

    private void open(
            Pattern<Observation, ?> pattern, PatternProcessFunction<Observation, Signal> fn)
            throws Exception {
        CepOperator<Observation, String, Signal> operator =
                new CepOperator<>(
                        TypeInformation.of(Observation.class)
                                .createSerializer(new SerializerConfigImpl()),
                        false,
                        NFACompiler.compileFactory(pattern, false),
                        null,
                        pattern.getAfterMatchSkipStrategy(),
                        fn,
                        null);
        h =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        operator, new AnomalyPipeline.ObservationKey(), Types.STRING);
        h.open();
    }

    @AfterEach
    void close() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    private void spike(long t, double v, boolean high) throws Exception {
        h.processElement(
                new StreamRecord<>(
                        new Observation(reading(t, v, t / 1000), 0, high, 50, -1, false), T0 + t));
    }

    private void range(long t, double v) throws Exception {
        h.processElement(
                new StreamRecord<>(
                        new Observation(reading(t, v, t / 1000), -1, false, v, 0, v > 95), T0 + t));
    }

    private void watermark(long t) throws Exception {
        h.processWatermark(new Watermark(T0 + t));
    }

    private List<String> onsets() {
        List<String> out =
                h.extractOutputValues().stream()
                        .map(s -> s.type() + "@" + (s.time() - T0) + "/" + (s.episodeStart() - T0))
                        .toList();
        h.getOutput().clear();
        return out;
    }

    private void openSpike() throws Exception {
        open(
                SpikePattern.pattern(new PatternShape(2, 30_000), 0),
                new SpikePattern.ToSignal(RULES));
    }

    @Test
    void spikeMatchesWhenTheWatermarkPassesTheConfirmingReading() throws Exception {
        openSpike();
        spike(0, 50, false);
        spike(1000, 65, true);
        spike(2000, 66, true);
        watermark(1999);
        assertThat(onsets()).isEmpty();
        watermark(2000);
        assertThat(onsets()).containsExactly("ONSET@2000/1000");
        // Partial matches wait for their `within` to pass; then nothing is left behind.
        watermark(40_000);
        assertThat(onsets()).isEmpty();
        assertThat(h.numEventTimeTimers()).isZero();
    }

    @Test
    void spikeCarriesBaseValuesAndAReadableMessage() throws Exception {
        openSpike();
        spike(1000, 65, true);
        spike(2000, 66, true);
        watermark(5000);
        Signal s = h.extractOutputValues().get(0);
        assertThat(s.kind()).isEqualTo(AlertKind.SPIKE);
        assertThat(s.values()).containsExactly(50, 65, 66);
        assertThat(s.message())
                .contains("rose from 50 to 65 degC within 30 s (limit: a rise of 8)");
    }

    @Test
    void anUnconfirmedSpikeIsNoSpike() throws Exception {
        openSpike();
        spike(1000, 65, true);
        spike(2000, 51, false);
        spike(3000, 65, true);
        spike(4000, 50, false);
        watermark(100_000);
        assertThat(onsets()).isEmpty();
        assertThat(h.numEventTimeTimers()).isZero();
    }

    @Test
    void outOfOrderInputIsSortedByTheOperatorBeforeMatching() throws Exception {
        openSpike();
        spike(2000, 66, true);
        spike(0, 50, false);
        spike(1000, 65, true);
        watermark(10_000);
        assertThat(onsets()).containsExactly("ONSET@2000/1000");
    }

    @Test
    void matchesDoNotOverlap() throws Exception {
        openSpike();
        for (int s = 1; s <= 5; s++) {
            spike(s * 1000L, 65, true);
        }
        watermark(10_000);
        // skipPastLastEvent: [1,2], [3,4], never [2,3]; the lifecycle folds them into one episode.
        assertThat(onsets()).containsExactly("ONSET@2000/1000", "ONSET@4000/3000");
    }

    @Test
    void confirmationsLaterThanWithinDoNotMatch() throws Exception {
        open(SpikePattern.pattern(new PatternShape(2, 5_000), 0), new SpikePattern.ToSignal(RULES));
        spike(1000, 65, true);
        spike(7000, 65, true);
        watermark(60_000);
        assertThat(onsets()).isEmpty();
        assertThat(h.numEventTimeTimers()).isZero();
    }

    @Test
    void outOfRangeNeedsConsecutiveReadingsOutside() throws Exception {
        open(
                OutOfRangePattern.pattern(new PatternShape(3, 60_000), 0),
                new OutOfRangePattern.ToSignal(RULES));
        range(1000, 96);
        range(2000, 97);
        range(3000, 90);
        range(4000, 96);
        range(5000, 97);
        watermark(5000);
        assertThat(onsets()).isEmpty();
        range(6000, 99);
        watermark(6000);
        List<Signal> out = h.extractOutputValues();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).episodeStart()).isEqualTo(T0 + 4000);
        assertThat(out.get(0).time()).isEqualTo(T0 + 6000);
        assertThat(out.get(0).message())
                .contains("above its high limit 95: 99 degC for 3 readings");
        watermark(120_000);
        assertThat(h.numEventTimeTimers()).isZero();
    }
}
