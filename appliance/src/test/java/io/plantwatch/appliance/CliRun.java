package io.plantwatch.appliance;

import java.io.PrintWriter;
import java.io.StringWriter;

/** One in-process run of the {@code plantwatch} command: its exit code and what it printed. */
record CliRun(int code, String out, String err) {
    static CliRun plantwatch(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code =
                Plantwatch.mainWithExitCode(
                        new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new CliRun(code, out.toString(), err.toString());
    }
}
