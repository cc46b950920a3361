package io.plantwatch.appliance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which checkpoint {@code plantwatch run} restores when a power cut tore the newest: a truncated or
 * empty {@code _metadata} made Flink refuse the job at every start (EOFException), and the
 * appliance could not start until a person moved the checkpoints away.
 */
class CheckpointChoiceTest {
    @TempDir Path dir;

    @Test
    void aTornNewestCheckpointGivesWayToTheNewestReadableOne() throws Exception {
        Path older = checkpoint("run-a", 7, 1_000);
        Path newer = checkpoint("run-a", 8, 2_000);
        Path torn = checkpoint("run-b", 3, 3_000);
        Path metadata = torn.resolve("_metadata");
        byte[] whole = Files.readAllBytes(metadata);
        Files.write(metadata, java.util.Arrays.copyOf(whole, whole.length / 2));
        Files.setLastModifiedTime(metadata, FileTime.fromMillis(3_000));

        assertThat(LocalJob.latestCheckpoint(dir)).contains(torn);
        assertThat(LocalJob.unreadable(torn)).contains("EOFException");
        assertThat(LocalJob.unreadable(newer)).isNull();
        assertThat(LocalJob.restorableCheckpoint(dir)).contains(newer);
        assertThat(older).exists();
    }

    @Test
    void whenNoCheckpointCanBeReadThePersonDecidesAndIsToldHow() throws Exception {
        Path empty = checkpoint("run-a", 4, 1_000);
        Files.write(empty.resolve("_metadata"), new byte[0]);
        assertThatThrownBy(() -> LocalJob.restorableCheckpoint(dir))
                .isInstanceOf(Appliance.CannotStart.class)
                .hasMessageContaining(empty.toString())
                .hasMessageContaining("0 B of metadata")
                .hasMessageContaining("Move " + dir + " away to start the job afresh");
    }

    @Test
    void noCheckpointAtAllIsAFreshStart() throws Exception {
        assertThat(LocalJob.restorableCheckpoint(dir)).isEmpty();
        assertThat(LocalJob.restorableCheckpoint(dir.resolve("absent"))).isEmpty();
    }

    /** A checkpoint's metadata as Flink writes it (no operator state), modified at {@code at}. */
    private Path checkpoint(String run, long id, long at) throws IOException {
        Path chk = Files.createDirectories(dir.resolve(run).resolve("chk-" + id));
        Path metadata = chk.resolve("_metadata");
        try (OutputStream out = Files.newOutputStream(metadata)) {
            Checkpoints.storeCheckpointMetadata(
                    new CheckpointMetadata(id, List.of(), List.of()), out);
        }
        Files.setLastModifiedTime(metadata, FileTime.fromMillis(at));
        return chk;
    }
}
