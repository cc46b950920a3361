package io.plantwatch.appliance;

import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.Alert;
import io.plantwatch.model.ConfigException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code plantwatch evaluate}: replays a labelled series through the real pipeline (Kafka in, the
 * anomaly job in event time, alerts out) and scores the alerts against the labels.
 */
@Command(
        name = "evaluate",
        mixinStandardHelpOptions = true,
        description = {
            "Replay a labelled series (NAB's timestamp,value CSV) through Kafka and the anomaly"
                    + " job, as fast as it goes, and score the alerts against the labels:"
                    + " windows detected, false alerts, lead times, per detector kind, NAB's"
                    + " score, and ISA-18.2 alarm-management figures.",
            "Lead time is measured to each window's labelled point: NAB's labels point; in the"
                    + " simulator's label file, the start of an injected anomaly and the middle of"
                    + " a labelled window (replayed NAB windows are centred on NAB's point), so"
                    + " both formats of NAB's labels give the same leads.",
            "Its last line is windows_total=N windows_detected=N false_alerts=N nab_score=X."
        })
final class EvaluateCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--series", required = true, description = "NAB CSV: timestamp,value")
    Path series;

    @Option(
            names = "--labels",
            required = true,
            description = "NAB's labels.json, or the simulator's label file (JSON lines)")
    Path labels;

    @Option(
            names = "--rules",
            defaultValue = "config/rules.yaml",
            description = "Rules file (default: ${DEFAULT-VALUE})")
    Path rules;

    @Option(
            names = "--sensor-kind",
            defaultValue = "temperature",
            description = "Which kind's rules apply (default: ${DEFAULT-VALUE})")
    String sensorKind;

    @Option(
            names = "--job-config",
            defaultValue = "config/job.yaml",
            description = "The job's settings (default: ${DEFAULT-VALUE})")
    Path jobConfig;

    @Option(
            names = "--report",
            paramLabel = "DIR",
            description =
                    "Folder to write report.md and chart.png to; created if missing, and those two"
                            + " files in it are replaced")
    Path report;

    @Option(
            names = "--json",
            paramLabel = "FILE",
            description = "Write the scores as JSON to this file (replaced if it exists)")
    Path json;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        LabelledSeries s;
        String unit;
        try {
            for (Path p : List.of(series, labels, rules, jobConfig)) {
                if (!Files.isRegularFile(p)) {
                    throw new ConfigException(p + " does not exist");
                }
            }
            // The replay takes a while; a report it cannot write should not wait for its end.
            if (report != null && Files.exists(report) && !Files.isDirectory(report)) {
                throw new ConfigException(
                        "--report "
                                + report
                                + " is a file; it names a folder for report.md and chart.png");
            }
            if (json != null && Files.isDirectory(json)) {
                throw new ConfigException(
                        "--json " + json + " is a folder; it names the file for the scores");
            }
            s = LabelledSeries.load(series, labels);
            RuleBook book = RuleBook.load(rules);
            unit = book.unitOf(sensorKind);
            if (unit == null) {
                throw new ConfigException(
                        "--sensor-kind "
                                + sensorKind
                                + " is not a kind with units in "
                                + rules
                                + "; kinds: "
                                + book.kindNames());
            }
        } catch (ConfigException e) {
            err.println("plantwatch evaluate: " + e.getMessage());
            return 2;
        }
        Path work = Files.createTempDirectory("plantwatch-evaluate");
        System.setProperty("plantwatch.log.file", work.resolve("plantwatch.log").toString());
        String sensor =
                Evaluation.SENSOR_PREFIX
                        + s.name().replaceAll("[^A-Za-z0-9_.-]", "_").replaceAll("\\.csv$", "");
        long t0 = System.nanoTime();
        List<Alert> alerts;
        try {
            alerts = Evaluation.run(s, sensor, unit, jobConfig, rules, work);
        } catch (Exception | Error e) {
            // The log is what says why; the replay's Kafka is of no use to anyone.
            DemoCommand.deleteTree(work.resolve("kafka"));
            err.println(
                    "plantwatch evaluate: the replay failed; its log: "
                            + work.resolve("plantwatch.log"));
            throw e;
        }
        // Nothing of a finished replay is kept: each run left a folder in the temp dir before.
        DemoCommand.deleteTree(work);
        EvaluationReport r = new EvaluationReport(s, alerts);
        out.printf(
                Locale.ROOT,
                "%s: %,d readings replayed in %.1f s with %s (%s, %s)%n",
                s.name(),
                s.timestamps().length,
                (System.nanoTime() - t0) / 1e9,
                rules,
                sensorKind,
                unit);
        if (s.outOfOrderRows() > 0) {
            out.printf(
                    Locale.ROOT,
                    "%d rows are stamped before an earlier row (clock jumps in the recording);"
                            + " replayed as recorded, the job set aside those behind its"
                            + " watermark%n",
                    s.outOfOrderRows());
        }
        out.printf(
                Locale.ROOT,
                "windows detected %d of %d, false alerts %d, lead minutes %s, NAB score %.3f%n",
                r.windowsDetected(),
                s.windows().size(),
                r.falseAlerts.size(),
                r.leadMinutes.stream().map(m -> String.format(Locale.ROOT, "%.0f", m)).toList(),
                r.nabScore);
        r.perKind.forEach(
                (k, v) ->
                        out.printf(
                                Locale.ROOT, "  %-15s %d in windows, %d false%n", k, v[0], v[1]));
        out.printf(
                Locale.ROOT,
                "alarm management: %.4f alerts per 10 min (peak %d), %.2f %% of periods in"
                        + " flood, %d chattering%n",
                r.alertsPer10Min,
                r.peakPer10Min,
                r.floodShare * 100,
                r.chattering);
        if (json != null) {
            r.writeJson(json);
            out.println("scores: " + json);
        }
        if (report != null) {
            r.writeReport(report, rules.toString());
            out.println("report: " + report.resolve("report.md"));
        }
        out.printf(
                Locale.ROOT,
                "windows_total=%d windows_detected=%d false_alerts=%d nab_score=%.3f%n",
                s.windows().size(),
                r.windowsDetected(),
                r.falseAlerts.size(),
                r.nabScore);
        out.flush();
        return 0;
    }
}
