package io.plantwatch.job;

import static io.plantwatch.job.Harnesses.T0;
import static io.plantwatch.job.Harnesses.reading;
import static org.assertj.core.api.Assertions.assertThat;

import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

class PatternInputTest {
    @Test
    void keepsOneShapesObservationsStampedWithTheirReadingsEventTime() throws Exception {
        var h = ProcessFunctionTestHarnesses.forProcessFunction(new PatternInput(true, 1));
        // Released by a watermark timer at 5 s: the side output carried the timer's time.
        h.processElement(new Observation(reading(2000, 80, 2), 1, true, 50, -1, false), T0 + 5000);
        h.processElement(new Observation(reading(3000, 81, 3), 0, true, 50, -1, false), T0 + 5000);
        h.processElement(new Observation(reading(4000, 82, 4), -1, false, 0, 1, true), T0 + 5000);

        assertThat(h.getOutput())
                .map(o -> ((StreamRecord<?>) o).getTimestamp())
                .containsExactly(T0 + 2000);
        assertThat(h.extractOutputValues()).extracting(o -> o.reading().seq()).containsExactly(2L);
        h.close();
    }
}
