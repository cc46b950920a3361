package io.plantwatch.alerting;

import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.ConfigException;
import io.plantwatch.model.Severity;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

/**
 * A notification's text as the operator writes it (a mail's subject and body, a Slack message, a
 * PagerDuty summary), in a strict part of Mustache: {@code {{name}}}, sections {@code
 * {{#name}}...{{/name}}} (repeated for each alert of {@code alerts}, shown once for a yes/no that
 * is yes or a text that is not empty), inverted sections {@code {{^name}}...{{/name}}} and comments
 * {@code {{! ...}}}. A line holding only a section tag or a comment is left out, as Mustache does,
 * so a template can put each on its own line; so is the newline that ends the file.
 *
 * <p>Strict where Mustache is lenient, because a mistake in a template shows only when a plant is
 * alarming: every name is checked when the file is read (a misspelt name is one error line naming
 * the file, key, line and column, rather than an empty place in every message), and so is every
 * section's end. Every value is escaped for its receiver (Slack's control characters, invisible
 * characters in a mail); Mustache's unescaped {@code {{{name}}}} and {@code {{&name}}} are refused,
 * as are partials and changed delimiters. Text the template writes itself is not escaped, so a
 * Slack template can write {@code <!channel>} for critical alerts.
 *
 * <p>Times are shown in the template's time zone ({@link #in}), UTC unless set.
 */
public final class NotificationTemplate {
    private static final org.slf4j.Logger LOG =
            org.slf4j.LoggerFactory.getLogger(NotificationTemplate.class);

    /** Longer is a file named by mistake. */
    static final int MAX_LENGTH = 64 * 1024;

    /** What a name is: shown as text, a yes/no for a section, or the list of alerts. */
    enum Type {
        TEXT,
        FLAG,
        LIST
    }

    /** The names of a notification, usable anywhere. */
    static final Map<String, Type> NOTIFICATION_NAMES =
            Map.ofEntries(
                    Map.entry("status", Type.TEXT),
                    Map.entry("firing", Type.FLAG),
                    Map.entry("resolved", Type.FLAG),
                    Map.entry("flood-summary", Type.FLAG),
                    Map.entry("receiver", Type.TEXT),
                    Map.entry("group", Type.TEXT),
                    Map.entry("site", Type.TEXT),
                    Map.entry("area", Type.TEXT),
                    Map.entry("line", Type.TEXT),
                    Map.entry("machine", Type.TEXT),
                    Map.entry("count", Type.TEXT),
                    Map.entry("alerts", Type.LIST));

    /** The names of one alert, usable inside {@code {{#alerts}}} (and in a per-alert template). */
    static final Map<String, Type> ALERT_NAMES =
            Map.ofEntries(
                    Map.entry("alert-id", Type.TEXT),
                    Map.entry("sensor-id", Type.TEXT),
                    Map.entry("sensor", Type.TEXT),
                    Map.entry("site", Type.TEXT),
                    Map.entry("area", Type.TEXT),
                    Map.entry("line", Type.TEXT),
                    Map.entry("machine", Type.TEXT),
                    Map.entry("rule", Type.TEXT),
                    Map.entry("kind", Type.TEXT),
                    Map.entry("severity", Type.TEXT),
                    Map.entry("state", Type.TEXT),
                    Map.entry("message", Type.TEXT),
                    Map.entry("value", Type.TEXT),
                    Map.entry("values", Type.TEXT),
                    Map.entry("unit", Type.TEXT),
                    Map.entry("limits", Type.TEXT),
                    Map.entry("started", Type.TEXT),
                    Map.entry("at", Type.TEXT),
                    Map.entry("detected", Type.TEXT),
                    Map.entry("chart", Type.TEXT),
                    Map.entry("open", Type.FLAG),
                    Map.entry("resolved", Type.FLAG),
                    Map.entry("critical", Type.FLAG),
                    Map.entry("warning", Type.FLAG),
                    Map.entry("info", Type.FLAG),
                    Map.entry("first", Type.FLAG),
                    Map.entry("last", Type.FLAG));

    /** Where a template's names start: a notification's, or one alert's (a per-alert text). */
    public enum Scope {
        NOTIFICATION,
        ALERT
    }

    private sealed interface Node permits Text, Value, Section {}

    private record Text(String text) implements Node {}

    private record Value(String name) implements Node {}

    private record Section(String name, boolean inverted, List<Node> body) implements Node {}

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("uuuu-MM-dd HH:mm:ss zzz", Locale.ROOT);

    private final List<Node> nodes;
    private final Scope scope;
    private final ZoneId zone;

    private NotificationTemplate(List<Node> nodes, Scope scope, ZoneId zone) {
        this.nodes = nodes;
        this.scope = scope;
        this.zone = zone;
    }

    /** This template showing times in {@code zone}. */
    public NotificationTemplate in(ZoneId zone) {
        return new NotificationTemplate(nodes, scope, zone);
    }

    public Scope scope() {
        return scope;
    }

    /**
     * The template in {@code text}; a mistake throws a {@link ConfigException} starting with {@code
     * where} (the file and key) and saying the line and column.
     */
    public static NotificationTemplate parse(String text, Scope scope, String where) {
        if (text.length() > MAX_LENGTH) {
            throw new ConfigException(
                    where + " is longer than " + MAX_LENGTH + " characters; is it the right file?");
        }
        // A Windows editor's line ends and byte-order mark are not part of the message, nor is
        // the newline an editor ends a file with.
        String body = text.replace("\r\n", "\n");
        if (body.startsWith("\uFEFF")) {
            body = body.substring(1);
        }
        if (body.endsWith("\n")) {
            body = body.substring(0, body.length() - 1);
        }
        return new NotificationTemplate(
                new Parser(body, where).parse(scope), scope, ZoneId.of("UTC"));
    }

    /** A template shipped in the jar, {@code /io/plantwatch/alerting/templates/<name>.mustache}. */
    static NotificationTemplate shipped(String name, Scope scope) {
        String resource = "templates/" + name + ".mustache";
        try (InputStream in = NotificationTemplate.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("no shipped template " + resource);
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), scope, resource);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The text for {@code n} (a {@link Scope#NOTIFICATION} template), every value through {@code
     * escape}.
     */
    public String render(Notification n, UnaryOperator<String> escape) {
        if (scope != Scope.NOTIFICATION) {
            throw new IllegalStateException("a per-alert template needs its alert");
        }
        StringBuilder out = new StringBuilder();
        render(nodes, new Context(n, null, -1, escape), out);
        return out.toString();
    }

    /**
     * The text for alert {@code a} of {@code n} (a {@link Scope#ALERT} template), every value
     * through {@code escape}.
     */
    public String render(Notification n, Alert a, UnaryOperator<String> escape) {
        if (scope != Scope.ALERT) {
            throw new IllegalStateException("a notification's template has no single alert");
        }
        StringBuilder out = new StringBuilder();
        render(nodes, new Context(n, a, n.alerts().indexOf(a), escape), out);
        return out.toString();
    }

    /**
     * {@code written}, or, when it is blank (a template whose sections all stayed shut), the
     * shipped text, with a warning naming the receiver: Slack and PagerDuty refuse an empty text,
     * and a refused notification would be tried again at every interval and never arrive.
     */
    static String orShipped(
            String written,
            java.util.function.Supplier<String> shipped,
            String receiver,
            String text) {
        if (!written.isBlank()) {
            return written;
        }
        LOG.warn(
                "Receiver {}: its template.{} wrote nothing for this notification; the shipped"
                        + " text is sent instead",
                receiver,
                text);
        return shipped.get();
    }

    /**
     * @param index the alert's place among the notification's alerts
     */
    private record Context(Notification n, Alert alert, int index, UnaryOperator<String> escape) {}

    private void render(List<Node> body, Context c, StringBuilder out) {
        for (Node node : body) {
            if (node instanceof Text t) {
                out.append(t.text());
            } else if (node instanceof Value v) {
                out.append(c.escape().apply(text(v.name(), c)));
            } else if (node instanceof Section s && s.name().equals("alerts")) {
                if (!s.inverted()) {
                    List<Alert> alerts = c.n().alerts();
                    for (int i = 0; i < alerts.size(); i++) {
                        render(s.body(), new Context(c.n(), alerts.get(i), i, c.escape()), out);
                    }
                } else if (c.n().alerts().isEmpty()) {
                    render(s.body(), c, out);
                }
            } else if (node instanceof Section s && s.inverted() != shown(s.name(), c)) {
                render(s.body(), c, out);
            }
        }
    }

    /** Whether section {@code name} is shown: a yes, or a text that is not empty. */
    private boolean shown(String name, Context c) {
        if (c.alert() != null && ALERT_NAMES.get(name) == Type.FLAG) {
            Alert a = c.alert();
            return switch (name) {
                case "open" -> a.state() != AlertState.RESOLVED;
                case "resolved" -> a.state() == AlertState.RESOLVED;
                case "critical" -> a.severity() == Severity.CRITICAL;
                case "warning" -> a.severity() == Severity.WARNING;
                case "first" -> c.index() == 0;
                case "last" -> c.index() == c.n().alerts().size() - 1;
                default -> a.severity() == Severity.INFO;
            };
        }
        if (c.alert() == null || !ALERT_NAMES.containsKey(name)) {
            switch (name) {
                case "firing" -> {
                    return c.n().status() == Notification.Status.FIRING;
                }
                case "resolved" -> {
                    return c.n().status() == Notification.Status.RESOLVED;
                }
                case "flood-summary" -> {
                    return c.n().status() == Notification.Status.SUMMARY;
                }
                default -> {}
            }
        }
        return !text(name, c).isEmpty();
    }

    /**
     * Text {@code name} in context {@code c}: the alert's when it has one, else the notification's.
     */
    private String text(String name, Context c) {
        Alert a = c.alert();
        if (a != null && ALERT_NAMES.containsKey(name)) {
            return switch (name) {
                case "alert-id" -> a.alertId();
                case "sensor-id" -> a.sensorId().id();
                case "sensor" -> a.sensorId().sensor();
                case "site" -> a.sensorId().site();
                case "area" -> a.sensorId().area();
                case "line" -> a.sensorId().line();
                case "machine" -> a.sensorId().machine();
                case "rule" -> a.rule();
                case "kind" -> a.kind().name();
                case "severity" -> a.severity().name();
                case "state" -> a.state().name();
                case "message" -> a.message();
                case "value" ->
                        a.values().isEmpty() ? "" : number(a.values().get(a.values().size() - 1));
                case "values" ->
                        a.values().stream()
                                .map(NotificationTemplate::number)
                                .collect(Collectors.joining(", "));
                case "unit" -> a.unit();
                case "limits" ->
                        a.limits().entrySet().stream()
                                .map(e -> e.getKey() + " " + number(e.getValue()))
                                .collect(Collectors.joining(", "));
                case "started" -> time(a.episodeStart());
                case "at" -> time(a.eventTime());
                case "detected" -> time(a.detectedAt());
                case "chart" -> c.n().chart(a) == null ? "" : c.n().chart(a);
                default -> throw new IllegalStateException("no alert text " + name);
            };
        }
        Notification n = c.n();
        String group = group(n);
        String[] levels = group.split("/", -1);
        return switch (name) {
            case "status" -> n.status().name();
            case "receiver" -> n.receiver();
            case "group" -> group;
            case "site" -> levels.length == 4 ? levels[0] : "";
            case "area" -> levels.length == 4 ? levels[1] : "";
            case "line" -> levels.length == 4 ? levels[2] : "";
            case "machine" -> levels.length == 4 ? levels[3] : "";
            case "count" -> Integer.toString(n.alerts().size());
            default -> throw new IllegalStateException("no notification text " + name);
        };
    }

    /** The group key without its receiver: the machine, site/area/line/machine. */
    static String group(Notification n) {
        String key = n.groupKey();
        return key.startsWith(n.receiver() + "/")
                ? key.substring(n.receiver().length() + 1)
                : key.substring(key.indexOf('/') + 1);
    }

    private String time(long epochMillis) {
        return TIME.format(Instant.ofEpochMilli(epochMillis).atZone(zone));
    }

    /** A reading as a person writes it: 84, not 84.0; 0.1, not 1.0E-1. */
    static String number(double v) {
        if (!Double.isFinite(v)) {
            return Double.toString(v);
        }
        return BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
    }

    /** Reads a template once, left to right, checking each name where it stands. */
    private static final class Parser {
        private final String text;
        private final String where;
        private int pos;

        Parser(String text, String where) {
            this.text = text;
            this.where = where;
        }

        List<Node> parse(Scope scope) {
            List<Node> nodes = new ArrayList<>();
            body(nodes, null, -1, scope == Scope.ALERT);
            return List.copyOf(nodes);
        }

        /**
         * Nodes up to the {@code {{/open}}} that ends section {@code open} (null: the end of the
         * text), into {@code into}.
         */
        private void body(List<Node> into, String open, int openedAt, boolean inAlert) {
            StringBuilder pending = new StringBuilder();
            while (pos < text.length()) {
                int tag = text.indexOf("{{", pos);
                if (tag < 0) {
                    pending.append(text, pos, text.length());
                    pos = text.length();
                    break;
                }
                int close = text.indexOf("}}", tag + 2);
                if (close < 0) {
                    throw error(tag, "{{ is not closed by }}");
                }
                String inside = text.substring(tag + 2, close);
                char sigil = inside.isEmpty() ? ' ' : inside.charAt(0);
                boolean block = sigil == '#' || sigil == '^' || sigil == '/' || sigil == '!';
                int after = close + 2;
                pending.append(text, pos, tag);
                if (block) {
                    int lineStart = text.lastIndexOf('\n', tag - 1) + 1;
                    int lineEnd = text.indexOf('\n', after);
                    int stop = lineEnd < 0 ? text.length() : lineEnd;
                    if (text.substring(lineStart, tag).isBlank()
                            && text.substring(after, stop).isBlank()) {
                        // Standalone: the whole line goes, so a section can have lines of its
                        // own. (The text before it on its line is in pending, blank.)
                        pending.setLength(pending.length() - (tag - lineStart));
                        after = lineEnd < 0 ? text.length() : lineEnd + 1;
                    }
                }
                if (!pending.isEmpty()) {
                    into.add(new Text(pending.toString()));
                    pending.setLength(0);
                }
                pos = after;
                switch (sigil) {
                    case '!' -> {
                        if (inside.contains("{{")) {
                            // It ended at the first }}: the rest would be sent as text.
                            throw error(
                                    tag,
                                    "a comment ends at its first }}, so it cannot hold a tag;"
                                            + " write names in it without the braces");
                        }
                    }
                    case '{', '&' ->
                            throw error(
                                    tag,
                                    "{{"
                                            + excerpt(inside)
                                            + "}} would show a value unescaped; every value is"
                                            + " escaped for its receiver, write {{name}}");
                    case '>' -> throw error(tag, "partials ({{>...}}) are not offered");
                    case '=' -> throw error(tag, "changing the delimiters is not offered");
                    case '/' -> {
                        String name = name(inside.substring(1), tag);
                        if (open == null) {
                            throw error(tag, "{{/" + excerpt(name) + "}} closes no section");
                        }
                        if (!name.equals(open)) {
                            throw error(
                                    tag,
                                    "{{/"
                                            + excerpt(name)
                                            + "}} cannot close "
                                            + opening(openedAt)
                                            + " (opened at "
                                            + lineColumn(openedAt)
                                            + ")");
                        }
                        return;
                    }
                    case '#', '^' -> {
                        String name = name(inside.substring(1), tag);
                        Type type = type(name, inAlert, tag);
                        if (type == Type.LIST && inAlert) {
                            throw error(
                                    tag,
                                    "{{"
                                            + sigil
                                            + "alerts}} stands inside the alerts (or in a text"
                                            + " about one alert)");
                        }
                        List<Node> body = new ArrayList<>();
                        body(body, name, tag, inAlert || (type == Type.LIST && sigil == '#'));
                        into.add(new Section(name, sigil == '^', List.copyOf(body)));
                    }
                    default -> {
                        String name = name(inside, tag);
                        Type type = type(name, inAlert, tag);
                        if (type != Type.TEXT) {
                            throw error(
                                    tag,
                                    "{{"
                                            + name
                                            + "}} is "
                                            + (type == Type.FLAG
                                                    ? "a yes or no"
                                                    : "the list of alerts")
                                            + ", not a text: use it as a section, {{#"
                                            + name
                                            + "}}...{{/"
                                            + name
                                            + "}}");
                        }
                        into.add(new Value(name));
                    }
                }
            }
            if (!pending.isEmpty()) {
                into.add(new Text(pending.toString()));
            }
            if (open != null) {
                throw error(openedAt, opening(openedAt) + " is not closed by {{/" + open + "}}");
            }
        }

        /** The section tag at {@code at}, as written: {@code {{#name}}} or {@code {{^name}}}. */
        private String opening(int at) {
            return excerpt(text.substring(at, text.indexOf("}}", at) + 2));
        }

        /** Part of the template in an error: one line of visible characters, not too long. */
        private static String excerpt(String s) {
            String line = io.plantwatch.model.SensorId.visible(s.replaceAll("\\s+", " "));
            return line.length() > 60 ? line.substring(0, 60) + "..." : line;
        }

        private String name(String raw, int tag) {
            String name = raw.strip();
            if (name.isEmpty()) {
                throw error(tag, "{{}} names nothing");
            }
            return name;
        }

        private Type type(String name, boolean inAlert, int tag) {
            Type type = inAlert ? ALERT_NAMES.get(name) : null;
            if (type == null) {
                type = NOTIFICATION_NAMES.get(name);
            }
            if (type == null) {
                TreeSet<String> known = new TreeSet<>(NOTIFICATION_NAMES.keySet());
                if (inAlert) {
                    known.addAll(ALERT_NAMES.keySet());
                }
                throw error(
                        tag,
                        "{{"
                                + excerpt(name)
                                + "}} is not a name a template knows"
                                + (inAlert
                                        ? ""
                                        : " here (an alert's names are known inside"
                                                + " {{#alerts}}...{{/alerts}})")
                                + "; known: "
                                + String.join(", ", known));
            }
            return type;
        }

        private ConfigException error(int at, String problem) {
            return new ConfigException(where + " " + lineColumn(at) + ": " + problem);
        }

        private String lineColumn(int at) {
            int line = 1;
            int lineStart = 0;
            for (int i = 0; i < at; i++) {
                if (text.charAt(i) == '\n') {
                    line++;
                    lineStart = i + 1;
                }
            }
            return "line " + line + " column " + (at - lineStart + 1);
        }
    }
}
