package io.plantwatch.alerting;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.plantwatch.model.Durations;
import io.plantwatch.model.SensorId;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code plantwatch alerts}: the alerting API from a shell, as Alertmanager's amtool is for
 * Alertmanager. Open alerts, acknowledge, shelve, close, and maintenance windows, without writing
 * curl lines with a bearer token; and {@code preview}, which needs no service. Exit codes: 0 done,
 * 1 the service refused or could not be reached (one line saying why), 2 a bad command line or no
 * token.
 */
@Command(
        name = "plantwatch alerts",
        mixinStandardHelpOptions = true,
        description =
                "Open alerts and silences of a running alerting service; preview: what the"
                        + " receivers of an alerting file send, without one.",
        subcommands = {
            AlertsCommand.ListAlerts.class,
            AlertsCommand.Ack.class,
            AlertsCommand.Shelve.class,
            AlertsCommand.Close.class,
            AlertsCommand.Silences.class,
            AlertsCommand.Preview.class
        })
public final class AlertsCommand implements Callable<Integer> {
    static final String TOKEN_ENV = "PLANTWATCH_ALERTING_TOKEN";
    static final String URL_ENV = "PLANTWATCH_ALERTING_URL";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Where the service is and its token: every subcommand's. */
    static final class Api {
        @Option(
                names = "--url",
                description =
                        "the alerting API (default: $" + URL_ENV + ", else http://127.0.0.1:9500)")
        String url;

        @Option(
                names = "--token-file",
                description = "a file holding the API's token (default: $" + TOKEN_ENV + ")")
        Path tokenFile;

        /** Set by {@link #mainWithExitCode}: the environment to read, a test's or the process's. */
        Function<String, String> env = System::getenv;

        PrintWriter out;

        JsonNode call(String method, String path, JsonNode body) {
            String base = url != null ? url : env.apply(URL_ENV);
            if (base == null || base.isBlank()) {
                base = "http://127.0.0.1:9500";
            }
            String token;
            try {
                token = tokenFile != null ? Files.readString(tokenFile) : env.apply(TOKEN_ENV);
            } catch (IOException e) {
                throw new Usage("cannot read --token-file " + tokenFile + ": " + e.getMessage());
            }
            token = token == null ? null : token.trim();
            if (token == null || token.isEmpty()) {
                throw new Usage(
                        "no token: set "
                                + TOKEN_ENV
                                + " or --token-file (the service's api token)");
            }
            // Never echoed: a line break in it (a second line in its file) made the client's
            // own error print the header, token and all.
            if (!token.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
                throw new Usage("the token holds a space, line break or non-ASCII character");
            }
            URI uri;
            try {
                uri = URI.create(base.replaceAll("/+$", "") + path);
            } catch (IllegalArgumentException e) {
                throw new Usage("--url " + base + " is not a URL");
            }
            if (uri.getScheme() == null
                    || !uri.getScheme().matches("(?i)https?")
                    || uri.getHost() == null) {
                throw new Usage("--url " + base + " is not an http(s) URL with a host");
            }
            HttpRequest.Builder b =
                    HttpRequest.newBuilder(uri)
                            .timeout(Duration.ofSeconds(10))
                            .header("Authorization", "Bearer " + token);
            if (body != null) {
                b.header("Content-Type", "application/json")
                        .method(method, HttpRequest.BodyPublishers.ofString(body.toString()));
            } else {
                b.method(method, HttpRequest.BodyPublishers.noBody());
            }
            HttpResponse<String> r;
            try {
                r =
                        HttpClient.newBuilder()
                                .connectTimeout(Duration.ofSeconds(5))
                                .build()
                                .send(b.build(), HttpResponse.BodyHandlers.ofString());
            } catch (IOException e) {
                throw new Refused("cannot reach alerting at " + base + ": " + e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Refused("interrupted");
            }
            JsonNode answer;
            try {
                answer = r.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(r.body());
            } catch (IOException e) {
                throw new Refused(
                        "alerting at " + base + " answered " + r.statusCode() + ", not JSON");
            }
            if (r.statusCode() >= 300) {
                String why = answer.path("error").asText("");
                throw new Refused(
                        r.statusCode()
                                + (r.statusCode() == 401 ? " (the token is not the service's)" : "")
                                + (why.isEmpty() ? "" : ": " + SensorId.visible(why)));
            }
            return answer;
        }

        /**
         * POSTs {@code action} on alert {@code id} with the query {@code params} (name, value,
         * name, value...) and prints the alert as it is after.
         */
        int act(String id, String action, String... params) {
            StringBuilder q = new StringBuilder();
            for (int i = 0; i < params.length; i += 2) {
                q.append(i == 0 ? '?' : '&')
                        .append(params[i])
                        .append('=')
                        .append(enc(params[i + 1]));
            }
            out.println(line(call("POST", "/api/alerts/" + enc(id) + "/" + action + q, null)));
            return 0;
        }
    }

    /** A command line to correct: exit 2. */
    static final class Usage extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Usage(String message) {
            super(message);
        }
    }

    /** The service said no, or did not answer: exit 1. */
    static final class Refused extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message);
        }
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static String who(String by) {
        return by != null ? by : System.getProperty("user.name", "cli");
    }

    /** One alert as a line: status, severity, kind, sensor, since, id, message. */
    static String line(JsonNode a) {
        return String.format(
                "%-12s %-8s %-15s %-50s %-24s %s  %s",
                a.path("status").asText(),
                a.path("severity").asText(),
                a.path("kind").asText(),
                SensorId.visible(a.path("sensor").asText()),
                a.path("episode_start").asText(),
                SensorId.visible(a.path("alert_id").asText()),
                SensorId.visible(a.path("message").asText()));
    }

    @Command(
            name = "list",
            mixinStandardHelpOptions = true,
            description = "Alerts, newest first (default: the open ones).")
    static final class ListAlerts implements Callable<Integer> {
        @Mixin Api api;

        @Option(
                names = "--status",
                description = "OPEN (default), ACKNOWLEDGED, SHELVED, LATCHED, RESOLVED or ALL")
        String status = "OPEN";

        @Option(names = "--site")
        String site;

        @Option(names = "--area")
        String area;

        @Option(names = "--line")
        String line;

        @Option(names = "--machine")
        String machine;

        @Option(names = "--sensor", description = "the whole sensor id")
        String sensor;

        @Option(names = "--limit", description = "at most this many (1 to 1000; default 100)")
        int limit = 100;

        @Override
        public Integer call() {
            Map<String, String> q = new LinkedHashMap<>();
            if (!status.equalsIgnoreCase("ALL")) {
                q.put("status", status);
            }
            q.put("site", site);
            q.put("area", area);
            q.put("line", line);
            q.put("machine", machine);
            q.put("sensor", sensor);
            q.put("limit", String.valueOf(limit));
            StringBuilder path = new StringBuilder("/api/alerts");
            char sep = '?';
            for (Map.Entry<String, String> e : q.entrySet()) {
                if (e.getValue() != null) {
                    path.append(sep).append(e.getKey()).append('=').append(enc(e.getValue()));
                    sep = '&';
                }
            }
            JsonNode page = api.call("GET", path.toString(), null);
            JsonNode alerts = page.path("alerts");
            alerts.forEach(a -> api.out.println(line(a)));
            api.out.println(
                    alerts.size()
                            + " of "
                            + page.path("count").asInt(alerts.size())
                            + (page.has("next") ? " (more: --limit, or the API's next link)" : ""));
            return 0;
        }
    }

    @Command(
            name = "ack",
            mixinStandardHelpOptions = true,
            description = "Acknowledge an alert: a person has it.")
    static final class Ack implements Callable<Integer> {
        @Mixin Api api;
        @Mixin AlertAndPerson alert;

        @Override
        public Integer call() {
            return api.act(alert.id, "ack", "by", alert.by());
        }
    }

    /** The alert a command acts on, and who acts: every alert command's. */
    static final class AlertAndPerson {
        @Parameters(paramLabel = "ALERT_ID")
        String id;

        @Option(names = "--by", description = "who (default: your user name)")
        String by;

        String by() {
            return who(by);
        }
    }

    @Command(
            name = "shelve",
            mixinStandardHelpOptions = true,
            description = "Hold an alert's notifications for a while.")
    static final class Shelve implements Callable<Integer> {
        @Mixin Api api;
        @Mixin AlertAndPerson alert;

        @Option(names = "--for", required = true, description = "e.g. 30m, 2h, 1d (at most 30d)")
        String duration;

        @Override
        public Integer call() {
            return api.act(alert.id, "shelve", "for", duration, "by", alert.by());
        }
    }

    @Command(
            name = "close",
            mixinStandardHelpOptions = true,
            description = "Resolve an alert the detector will not (a sensor taken out of service).")
    static final class Close implements Callable<Integer> {
        @Mixin Api api;
        @Mixin AlertAndPerson alert;

        @Option(names = "--reason", required = true, description = "why; shown in its message")
        String reason;

        @Override
        public Integer call() {
            return api.act(alert.id, "close", "by", alert.by(), "reason", reason);
        }
    }

    @Command(
            name = "silence",
            mixinStandardHelpOptions = true,
            description = "Maintenance windows: alerts they match are recorded, not notified.",
            subcommands = {Silences.Add.class, Silences.ListSilences.class, Silences.Expire.class})
    static final class Silences implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            throw new CommandLine.ParameterException(spec.commandLine(), "say add, list or expire");
        }

        /** One silence as a line: id, active, from, to, what it matches, who, why. */
        static String line(JsonNode s) {
            return String.format(
                    "%-36s %-8s %s .. %s  %s %s  by %s: %s",
                    s.path("id").asText(),
                    s.path("active").asBoolean(true) ? "active" : "ended",
                    s.path("starts_at").asText(),
                    s.path("ends_at").asText(),
                    s.path("match").toString(),
                    s.path("sensors").isEmpty() ? "" : s.path("sensors").toString(),
                    SensorId.visible(s.path("created_by").asText()),
                    SensorId.visible(s.path("comment").asText()));
        }

        @Command(
                name = "add",
                mixinStandardHelpOptions = true,
                description = "Silence matching alerts from now (or --starts).")
        static final class Add implements Callable<Integer> {
            @Mixin Api api;

            @Option(
                    names = "--match",
                    description =
                            "label=value (site, area, line, machine, severity, kind, rule);"
                                    + " repeat for more",
                    paramLabel = "LABEL=VALUE")
            Map<String, String> match = new LinkedHashMap<>();

            @Option(
                    names = "--sensor",
                    description = "a sensor-id glob (* within a level, ** across); repeatable")
            List<String> sensors = new ArrayList<>();

            @Option(names = "--for", description = "how long, e.g. 2h (or --until)")
            String duration;

            @Option(names = "--until", description = "ISO-8601 end, e.g. 2026-12-08T06:00:00Z")
            String until;

            @Option(names = "--starts", description = "ISO-8601 start (default: now)")
            String starts;

            @Option(names = "--comment", required = true, description = "why")
            String comment;

            @Option(names = "--by")
            String by;

            @Override
            public Integer call() {
                if ((duration == null) == (until == null)) {
                    throw new Usage("say how long: --for 2h or --until 2026-12-08T06:00:00Z");
                }
                Instant start;
                try {
                    start = starts == null ? Instant.now() : Instant.parse(starts);
                } catch (java.time.format.DateTimeParseException e) {
                    throw new Usage(
                            "--starts " + starts + " is not ISO-8601 (2026-12-08T06:00:00Z)");
                }
                String end;
                if (duration != null) {
                    try {
                        end = start.plus(Durations.parse(duration)).toString();
                    } catch (IllegalArgumentException e) {
                        throw new Usage("--for " + duration + " is not a duration (30m, 2h, 1d)");
                    }
                } else {
                    end = until;
                }
                ObjectNode body = JSON.createObjectNode();
                ObjectNode m = body.putObject("match");
                match.forEach(m::put);
                if (!sensors.isEmpty()) {
                    sensors.forEach(body.putArray("sensors")::add);
                }
                body.put("starts_at", start.toString()).put("ends_at", end);
                body.put("created_by", who(by)).put("comment", comment);
                api.out.println(line(api.call("POST", "/api/silences", body)));
                return 0;
            }
        }

        @Command(
                name = "list",
                mixinStandardHelpOptions = true,
                description = "Silences, ended ones too.")
        static final class ListSilences implements Callable<Integer> {
            @Mixin Api api;

            @Override
            public Integer call() {
                JsonNode all = api.call("GET", "/api/silences", null);
                JsonNode list = all.isArray() ? all : all.path("silences");
                list.forEach(s -> api.out.println(line(s)));
                return 0;
            }
        }

        @Command(
                name = "expire",
                mixinStandardHelpOptions = true,
                description = "End a silence now (it stays listed).")
        static final class Expire implements Callable<Integer> {
            @Mixin Api api;

            @Parameters(paramLabel = "SILENCE_ID")
            String id;

            @Override
            public Integer call() {
                api.out.println(line(api.call("DELETE", "/api/silences/" + enc(id), null)));
                return 0;
            }
        }
    }

    /**
     * What the receivers of an alerting file send, for a sample notification, without a running
     * service: to check a template (or a whole file) before the plant depends on it, as
     * Alertmanager's {@code amtool template render} and Grafana's contact-point test do. With
     * {@code --send}, one receiver is sent it, marked as a test, and the outcome is the exit code.
     */
    @Command(
            name = "preview",
            mixinStandardHelpOptions = true,
            description =
                    "What each receiver of an alerting config sends for a sample notification;"
                            + " --send sends it to one.")
    static final class Preview implements Callable<Integer> {
        @Option(names = "--config", required = true, description = "the alerting config")
        Path config;

        @Option(names = "--receiver", description = "one receiver (default: every one)")
        String receiver;

        @Option(
                names = "--status",
                defaultValue = "firing",
                description = "firing (default), resolved or summary (a flood limit's)")
        String status;

        @Option(
                names = "--send",
                description =
                        "send it to --receiver too, and exit 0 only if the receiver took it"
                                + " (waits up to --wait)")
        boolean send;

        @Option(
                names = "--wait",
                defaultValue = "30s",
                description = "how long --send waits for the receiver (default 30s)")
        String waitFor;

        /** Set by {@link #mainWithExitCode}, as for {@link Api}. */
        Function<String, String> env = System::getenv;

        PrintWriter out;

        @Override
        public Integer call() throws InterruptedException {
            Notification.Status wanted;
            try {
                wanted = Notification.Status.valueOf(status.toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new Usage("--status " + status + " is not firing, resolved or summary");
            }
            if (send && receiver == null) {
                throw new Usage("--send needs --receiver: a test goes to one receiver at a time");
            }
            Duration wait;
            try {
                wait = Durations.parse(waitFor);
            } catch (IllegalArgumentException e) {
                throw new Usage("--wait " + waitFor + " is not a duration such as 30s");
            }
            AlertingConfig c;
            try {
                // The bootstrap is not used: nothing here reads Kafka.
                c = AlertingConfig.load(config, "127.0.0.1:9092", env);
            } catch (io.plantwatch.model.ConfigException e) {
                throw new Usage(e.getMessage());
            }
            try {
                if (receiver != null && !c.receivers().containsKey(receiver)) {
                    throw new Usage(
                            "--receiver "
                                    + receiver
                                    + " is not one of "
                                    + String.join(", ", c.receivers().keySet()));
                }
                if (send && c.receivers().get(receiver) instanceof MqttReceiver) {
                    // Its messages are retained: a test would stay on the andon topic for every
                    // panel that subscribes, and its client id is the running service's.
                    throw new Usage(
                            "--send does not go to an MQTT receiver: its messages are retained on"
                                    + " the plant's topic, and a test would stay there");
                }
                for (Receiver r : c.receivers().values()) {
                    if (receiver != null && !receiver.equals(r.name())) {
                        continue;
                    }
                    Notification n = sample(r.name(), wanted, System.currentTimeMillis());
                    if (c.grafanaUrl() != null) {
                        n = new ChartLinks(c.grafanaUrl()).on(n);
                    }
                    byte[] json = Dispatcher.json(n, a -> false);
                    out.println("== " + r.name() + " (" + r.getClass().getSimpleName() + ")");
                    out.println(readable(r.preview(n, json).stripTrailing()));
                    out.println();
                    if (send) {
                        return send(r, n, json, wait);
                    }
                }
                return 0;
            } finally {
                c.receivers().values().forEach(Receiver::close);
            }
        }

        /** {@code text} with its JSON (the whole, or each line's) indented, the rest as it is. */
        static String readable(String text) {
            String whole = indented(text);
            if (whole != null) {
                return whole;
            }
            StringBuilder b = new StringBuilder();
            for (String line : text.split("\n", -1)) {
                String json = indented(line);
                b.append(json != null ? json : line).append('\n');
            }
            return b.toString().stripTrailing();
        }

        /** Strict: text that only starts as JSON (two events, "[1] check the pump") is not. */
        private static final ObjectMapper WHOLE_JSON =
                new ObjectMapper()
                        .enable(
                                com.fasterxml.jackson.databind.DeserializationFeature
                                        .FAIL_ON_TRAILING_TOKENS);

        private static String indented(String text) {
            try {
                JsonNode node = WHOLE_JSON.readTree(text);
                return node != null && node.isContainerNode()
                        ? WHOLE_JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node)
                        : null;
            } catch (IOException e) {
                return null;
            }
        }

        private int send(Receiver r, Notification n, byte[] json, Duration wait)
                throws InterruptedException {
            java.util.concurrent.ExecutorService sender =
                    java.util.concurrent.Executors.newSingleThreadExecutor();
            try {
                WebhookReceiver.Outcome outcome =
                        sender.submit(() -> r.deliver(n, json))
                                .get(wait.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
                if (outcome != WebhookReceiver.Outcome.DELIVERED) {
                    throw new Refused(
                            r.name() + " did not take it (" + outcome + "); the log says why");
                }
                out.println(r.name() + " took it.");
                return 0;
            } catch (java.util.concurrent.TimeoutException e) {
                throw new Refused(
                        r.name()
                                + " did not take it within "
                                + waitFor
                                + "; the test is abandoned");
            } catch (java.util.concurrent.ExecutionException e) {
                throw new Refused(r.name() + " failed: " + e.getCause());
            } finally {
                sender.shutdownNow();
            }
        }

        /**
         * A notification for {@code receiver} of {@code status} about a test sensor, whose messages
         * say it is a test: one that is sent reaches people.
         */
        static Notification sample(String receiver, Notification.Status status, long now) {
            SensorId oil = SensorId.parse("plantwatch/preview/line-1/press-1/oil-temp");
            SensorId vibration = SensorId.parse("plantwatch/preview/line-1/press-1/vibration");
            // The hour's start: the same alert ids all hour, so a test sent as resolved (to
            // PagerDuty, say) resolves the incident the firing one opened.
            long start = now - Math.floorMod(now, 3_600_000L);
            io.plantwatch.model.Alert high =
                    io.plantwatch.model.Alert.open(
                                    oil,
                                    "oil-temp-high",
                                    io.plantwatch.model.AlertKind.OUT_OF_RANGE,
                                    io.plantwatch.model.Severity.CRITICAL,
                                    start,
                                    now,
                                    List.of(78.5, 84.2),
                                    "TEST (plantwatch alerts preview): oil-temp 84.2 degC is above"
                                            + " its high limit 80 degC")
                            .withDetail("degC", limits("high", 80, "deadband", 2, "count", 2));
            io.plantwatch.model.Alert flat =
                    new io.plantwatch.model.Alert(
                            io.plantwatch.model.Alert.idFor(vibration, "vibration-stuck", start),
                            vibration,
                            "vibration-stuck",
                            io.plantwatch.model.AlertKind.FLATLINE,
                            io.plantwatch.model.Severity.WARNING,
                            io.plantwatch.model.AlertState.RESOLVED,
                            start,
                            now,
                            now,
                            List.of(0.42),
                            "TEST (plantwatch alerts preview): vibration moves again",
                            "mm/s",
                            limits("epsilon", 0.01, "min_s", 300, "min_count", 30));
            List<io.plantwatch.model.Alert> alerts =
                    switch (status) {
                        case FIRING, SUMMARY -> List.of(high, flat);
                        case RESOLVED ->
                                List.of(
                                        high.resolve(
                                                now,
                                                now,
                                                "TEST (plantwatch alerts preview): oil-temp is"
                                                        + " back within its limits"));
                    };
            return new Notification(
                    "preview-" + now, receiver, Grouper.groupKey(receiver, high), status, alerts);
        }

        /** Limits in the order given: names and values, alternating. */
        private static java.util.Map<String, Double> limits(Object... nameThenValue) {
            java.util.Map<String, Double> m = new java.util.LinkedHashMap<>();
            for (int i = 0; i < nameThenValue.length; i += 2) {
                m.put((String) nameThenValue[i], ((Number) nameThenValue[i + 1]).doubleValue());
            }
            return m;
        }
    }

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(
                spec.commandLine(), "say list, ack, shelve, close, silence or preview");
    }

    public static int mainWithExitCode(PrintWriter out, PrintWriter err, String... args) {
        return mainWithExitCode(out, err, System::getenv, args);
    }

    static int mainWithExitCode(
            PrintWriter out, PrintWriter err, Function<String, String> env, String... args) {
        CommandLine cli = new CommandLine(new AlertsCommand());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionStrategy(
                parsed -> {
                    for (CommandLine c : parsed.asCommandLineList()) {
                        for (CommandLine.Model.CommandSpec m :
                                c.getCommandSpec().mixins().values()) {
                            if (m.userObject() instanceof Api api) {
                                api.env = env;
                                api.out = out;
                            }
                        }
                        if (c.getCommandSpec().userObject() instanceof Preview preview) {
                            preview.env = env;
                            preview.out = out;
                        }
                    }
                    return new CommandLine.RunLast().execute(parsed);
                });
        cli.setExecutionExceptionHandler(
                (e, c, parsed) -> {
                    if (e instanceof Usage) {
                        err.println("plantwatch alerts: " + e.getMessage());
                        err.flush();
                        return 2;
                    }
                    if (e instanceof Refused) {
                        err.println("plantwatch alerts: " + e.getMessage());
                        err.flush();
                        return 1;
                    }
                    throw e;
                });
        int code = cli.execute(args);
        out.flush();
        return code;
    }
}
