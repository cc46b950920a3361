package io.plantwatch.sim.mqtt;

/** A failure the user can fix, with the one line that tells them how, and the exit code. */
public final class SimulatorException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** The broker could not be reached. */
    public static final int EXIT_UNREACHABLE = 3;

    /** The broker refused the connection (login, authorisation). */
    public static final int EXIT_REFUSED = 4;

    /** Publishing failed during the run. */
    public static final int EXIT_PUBLISH_FAILED = 5;

    private final int exitCode;

    public SimulatorException(int exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }
}
