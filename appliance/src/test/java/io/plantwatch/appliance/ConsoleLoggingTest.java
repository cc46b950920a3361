package io.plantwatch.appliance;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.status.Status;
import ch.qos.logback.core.status.StatusUtil;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What the console shows of the logs. */
class ConsoleLoggingTest {
    @TempDir Path dir;

    /**
     * A warning while logback reads its file makes it print its whole internal status on the
     * console at every start (a deprecated attribute did once).
     */
    @ParameterizedTest
    @ValueSource(strings = {"plantwatch-logback.xml", "plantwatch-module-logback.xml"})
    void theLoggingFilesLoadWithoutAWarning(String file) throws Exception {
        LoggerContext context = new LoggerContext();
        context.putProperty("plantwatch.log.file", dir.resolve("plantwatch.log").toString());
        JoranConfigurator configurator = new JoranConfigurator();
        configurator.setContext(context);
        configurator.doConfigure(getClass().getResource("/" + file));
        assertThat(new StatusUtil(context).getHighestLevel(0))
                .as(context.getStatusManager().getCopyOfStatusList().toString())
                .isLessThan(Status.WARN);
        context.stop();
    }

    /** On the console an exception is one line: its innermost cause; the file has the trace. */
    @Test
    void anExceptionOnTheConsoleIsOneLine() {
        LoggerContext context = new LoggerContext();
        OneLineThrowable converter = new OneLineThrowable();
        converter.setContext(context);
        converter.start();
        LoggingEvent event =
                new LoggingEvent(
                        "x",
                        context.getLogger("org.apache.flink.X"),
                        Level.ERROR,
                        "Caught exception",
                        new RuntimeException(
                                "wrapper",
                                new IllegalStateException("Trying to open\n gateway  for 16")),
                        null);
        assertThat(converter.convert(event))
                .isEqualTo(
                        " (IllegalStateException: Trying to open gateway for 16; the trace is in"
                                + " the log file)");
        LoggingEvent plain =
                new LoggingEvent(
                        "x", context.getLogger("x"), Level.WARN, "no exception", null, null);
        assertThat(converter.convert(plain)).isEmpty();
    }

    /**
     * A failure Flink kept serialized (a job's restart cause) in the same few words, named by the
     * class it was thrown as, not "SerializedThrowable", and its name not said twice.
     */
    @Test
    void aSerializedFailureReadsAsTheOriginal() {
        Exception original =
                new RuntimeException(
                        "wrapper",
                        new org.apache.kafka.common.errors.SaslAuthenticationException(
                                "Authentication failed: Invalid username or password"));
        assertThat(OneLineThrowable.of(new org.apache.flink.util.SerializedThrowable(original)))
                .isEqualTo(
                        "SaslAuthenticationException: Authentication failed: Invalid username or"
                                + " password");
        assertThat(
                        OneLineThrowable.of(
                                new org.apache.flink.util.SerializedThrowable(
                                        new IllegalStateException())))
                .isEqualTo("IllegalStateException");
    }
}
