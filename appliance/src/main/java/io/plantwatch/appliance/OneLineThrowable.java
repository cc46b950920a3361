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
        return summary(t.getClassName(), t.getMessage());
    }

    /**
     * {@code t}'s innermost cause in a few words, as the console shows a logged one. A cause Flink
     * kept serialized is named by the class it was thrown as.
     */
    static String of(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (!(root instanceof org.apache.flink.util.SerializedThrowable s)) {
            return summary(root.getClass().getName(), root.getMessage());
        }
        // An exception made from its cause alone has the cause's toString() as its message: its
        // class name is said once.
        String type = s.getOriginalErrorClassName();
        String message = s.getMessage();
        if (message != null && message.startsWith(type)) {
            message = message.substring(type.length()).replaceFirst("^: ?", "");
        }
        return summary(type, message);
    }

    private static String summary(String className, String message) {
        String type = className.substring(className.lastIndexOf('.') + 1);
        if (message == null || message.isBlank()) {
            return type;
        }
        // Without its closing full stop: the line it goes into goes on.
        String line = message.strip().replaceAll("\\s+", " ").replaceAll("\\.$", "");
        return type + ": " + (line.length() > 300 ? line.substring(0, 300) + "..." : line);
    }
}
