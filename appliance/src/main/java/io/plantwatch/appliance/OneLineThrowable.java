package io.plantwatch.appliance;

import ch.qos.logback.classic.pattern.ThrowableHandlingConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;

/**
 * A logged exception on the console in a few words: its type and message, innermost cause first
 * when there is one. A stack trace of Flink's internals filled forty console lines at every job
 * restart and buried what the operator needs; the log file keeps the whole trace.
 */
public final class OneLineThrowable extends ThrowableHandlingConverter {
    @Override
    public String convert(ILoggingEvent event) {
        IThrowableProxy t = event.getThrowableProxy();
        if (t == null) {
            return "";
        }
        IThrowableProxy root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return " (" + summary(root) + "; the trace is in the log file)";
    }

    private static String summary(IThrowableProxy t) {
        String type = t.getClassName().substring(t.getClassName().lastIndexOf('.') + 1);
        String message = t.getMessage();
        if (message == null || message.isBlank()) {
            return type;
        }
        String line = message.strip().replaceAll("\\s+", " ");
        return type + ": " + (line.length() > 300 ? line.substring(0, 300) + "..." : line);
    }
}
