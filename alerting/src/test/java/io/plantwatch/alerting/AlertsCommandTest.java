package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code plantwatch alerts} against a real alerting API over HTTP. */
class AlertsCommandTest {
    private static final String TOKEN = "t0ken-for-the-cli";

    @TempDir Path dir;
    private AlertStore store;
    private Dispatcher dispatcher;
    private AlertingApi api;
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private static Alert alert(String id, String line) {
        long now = System.currentTimeMillis();
        return new Alert(
                id,
                SensorId.parse("dresden/press-shop/" + line + "/press-1/oil-temp"),
                "spike",
                AlertKind.SPIKE,
                Severity.WARNING,
                AlertState.OPEN,
                now - 60_000,
                now - 60_000,
                now - 60_000,
                List.of(1.0),
                "rose by 9 degC");
    }

    @BeforeEach
    void start() throws Exception {
        store = new AlertStore(dir.resolve("store"));
        store.event(alert("a", "line-1"), 0, 0, 10);
        store.event(alert("b", "line-2"), 0, 1, 11);
        dispatcher =
                new Dispatcher(
                        store,
                        ShippedRoutes.to("log"),
                        Map.of(),
                        new FloodGate(20, 600_000),
                        new FlapDetector(6, 1_800_000),
                        List.of());
        api =
                new AlertingApi(
                        store,
                        dispatcher,
                        () -> "",
                        TOKEN.getBytes(StandardCharsets.UTF_8),
                        "127.0.0.1",
                        0,
                        System::currentTimeMillis);
    }

    @AfterEach
    void stop() {
        api.close();
        dispatcher.close();
        store.close();
    }

    private int run(Map<String, String> env, String... args) {
        return AlertsCommand.mainWithExitCode(
                new PrintWriter(out, true), new PrintWriter(err, true), env::get, args);
    }

    private int run(String... args) {
        return run(
                Map.of(
                        AlertsCommand.TOKEN_ENV,
                        TOKEN,
                        AlertsCommand.URL_ENV,
                        "http://127.0.0.1:" + api.port()),
                args);
    }

    @Test
    void listsAcknowledgesAndClosesAlerts() {
        assertThat(run("list", "--line", "line-1")).isZero();
        assertThat(out.toString())
                .contains("OPEN", "dresden/press-shop/line-1/press-1/oil-temp", "rose by 9 degC")
                .doesNotContain("line-2")
                .contains("1 of 1");
        assertThat(run("ack", "a", "--by", "maria")).isZero();
        assertThat(store.statusOf("a")).isEqualTo(AlertStore.Status.ACKNOWLEDGED);
        assertThat(run("close", "b", "--by", "maria", "--reason", "sensor removed")).isZero();
        assertThat(store.statusOf("b")).isEqualTo(AlertStore.Status.RESOLVED);
        assertThat(store.alert("b").message()).isEqualTo("closed by maria: sensor removed");
        assertThat(run("close", "b", "--reason", "again")).isEqualTo(1);
        assertThat(err.toString()).contains("plantwatch alerts: 409");
    }

    @Test
    void addsListsAndExpiresASilence() {
        assertThat(
                        run(
                                "silence",
                                "add",
                                "--match",
                                "line=line-1",
                                "--for",
                                "2h",
                                "--comment",
                                "press 1 overhaul",
                                "--by",
                                "maria"))
                .isZero();
        assertThat(store.silences()).hasSize(1);
        Silence s = store.silences().get(0);
        assertThat(Duration.between(s.startsAt(), s.endsAt())).isEqualTo(Duration.ofHours(2));
        assertThat(s.comment()).isEqualTo("press 1 overhaul");
        assertThat(run("silence", "list")).isZero();
        assertThat(out.toString()).contains(s.id() + " active").contains("press 1 overhaul");
        assertThat(run("silence", "expire", s.id())).isZero();
        assertThat(out.toString()).contains(s.id() + " ended");
        assertThat(run("silence", "add", "--match", "colour=red", "--for", "1h", "--comment", "x"))
                .isEqualTo(1);
        assertThat(err.toString()).contains("400").contains("colour");
    }

    @Test
    void withoutATokenOrWithAWrongOneItSaysWhatToDo() throws Exception {
        String url = "http://127.0.0.1:" + api.port();
        assertThat(run(Map.of(AlertsCommand.URL_ENV, url), "list")).isEqualTo(2);
        assertThat(err.toString())
                .contains("no token: set PLANTWATCH_ALERTING_TOKEN or --token-file");
        Path wrong = Files.writeString(dir.resolve("token"), "guess\n");
        assertThat(run(Map.of(), "list", "--url", url, "--token-file", wrong.toString()))
                .isEqualTo(1);
        assertThat(err.toString()).contains("401 (the token is not the service's)");
        assertThat(
                        run(
                                Map.of(AlertsCommand.TOKEN_ENV, TOKEN),
                                "list",
                                "--url",
                                "http://127.0.0.1:1"))
                .isEqualTo(1);
        assertThat(err.toString()).contains("cannot reach alerting at http://127.0.0.1:1");
        assertThat(run(Map.of(AlertsCommand.TOKEN_ENV, "t0ken\nsecond-line"), "list", "--url", url))
                .isEqualTo(2);
        assertThat(err.toString())
                .contains("the token holds a space, line break or non-ASCII character")
                .doesNotContain("second-line");
        assertThat(run(Map.of(AlertsCommand.TOKEN_ENV, TOKEN), "list", "--url", "localhost:9500"))
                .isEqualTo(2);
        assertThat(err.toString()).contains("is not an http(s) URL with a host");
        assertThat(run("close", "--help")).isZero();
        assertThat(out.toString()).contains("--reason");
        assertThat(run("silence", "add", "--match", "line=line-1", "--comment", "x")).isEqualTo(2);
        assertThat(err.toString()).contains("say how long: --for 2h or --until");
    }
}
