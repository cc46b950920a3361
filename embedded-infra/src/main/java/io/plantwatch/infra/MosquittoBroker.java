package io.plantwatch.infra;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Debian's mosquitto as a child process, listening on 127.0.0.1 with a generated configuration in a
 * temporary directory.
 *
 * <p>Queue limits are lifted by default ({@code max_queued_messages 0}, {@code
 * max_inflight_messages 1000}) because mosquitto drops QoS 1 messages beyond its default queue of
 * 1,000 per client. Persistence is off; the log goes to {@link #logFile()}.
 *
 * <p>The port is chosen at the first {@link #start()} and kept, so {@link #stop()} then {@link
 * #start()} brings the broker back on the same {@link #uri()}. The process is destroyed on {@link
 * #close()} and, should the JVM exit first, by a shutdown hook.
 */
public final class MosquittoBroker implements AutoCloseable {
    /** Where Debian's package installs the broker. */
    public static final Path DEFAULT_EXECUTABLE = Path.of("/usr/sbin/mosquitto");

    private static final Path PASSWORD_TOOL = Path.of("/usr/bin/mosquitto_passwd");
    private static final Logger LOG = LoggerFactory.getLogger(MosquittoBroker.class);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(15);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);

    private final Path executable;
    private final String username;
    private final String password;
    private final int maxQueuedMessages;
    private final int maxInflightMessages;
    private final Path root = TempDirs.create("mosquitto-");
    private final Thread shutdownHook = new Thread(this::destroyProcess, "mosquitto-shutdown");
    private int port;
    private volatile Process process;
    private boolean hookRegistered;
    private boolean closed;

    private MosquittoBroker(Builder builder) {
        this.executable = builder.executable;
        this.username = builder.username;
        this.password = builder.password;
        this.maxQueuedMessages = builder.maxQueuedMessages;
        this.maxInflightMessages = builder.maxInflightMessages;
        this.port = builder.port;
    }

    /** A builder for an anonymous broker on a free port. */
    public static Builder builder() {
        return new Builder();
    }

    /** True when {@link #DEFAULT_EXECUTABLE} exists and is executable. */
    public static boolean isInstalled() {
        return Files.isExecutable(DEFAULT_EXECUTABLE);
    }

    /**
     * Starts mosquitto and returns once its port accepts connections. Starting a running broker
     * does nothing.
     *
     * @return this, for chaining after {@link Builder#build()}
     * @throws IllegalStateException if mosquitto exits or does not listen in time; the message
     *     carries the end of its log
     */
    public synchronized MosquittoBroker start() {
        if (closed) {
            throw new IllegalStateException("MosquittoBroker is closed");
        }
        if (process != null && process.isAlive()) {
            return this;
        }
        long startNanos = System.nanoTime();
        if (port == 0) {
            port = Loopback.freePorts(1)[0];
        }
        Path config = writeConfig();
        if (!hookRegistered) {
            Runtime.getRuntime().addShutdownHook(shutdownHook);
            hookRegistered = true;
        }
        try {
            process =
                    new ProcessBuilder(executable.toString(), "-c", config.toString())
                            .redirectErrorStream(true)
                            .redirectOutput(Redirect.appendTo(root.resolve("stdout.log").toFile()))
                            .start();
            Loopback.awaitListening(port, START_TIMEOUT, process::isAlive, "mosquitto");
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot run " + executable, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            destroyProcess();
            throw new IllegalStateException("Interrupted while starting mosquitto", e);
        } catch (IllegalStateException e) {
            destroyProcess();
            throw new IllegalStateException(e.getMessage() + "; log:\n" + logTail(), e);
        }
        LOG.info("Mosquitto ready at {} in {}", uri(), Loopback.seconds(startNanos));
        return this;
    }

    /** Stops the process (SIGTERM, then SIGKILL after 10 s), keeping the port for a restart. */
    public synchronized void stop() {
        destroyProcess();
        process = null;
    }

    /** True while the child process is alive. */
    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    /**
     * {@code tcp://127.0.0.1:PORT}.
     *
     * @throws IllegalStateException before the first start when no port was configured
     */
    public String uri() {
        return "tcp://" + host() + ":" + port();
    }

    /** Always {@code 127.0.0.1}: the broker listens on loopback only. */
    public String host() {
        return Loopback.HOST;
    }

    /**
     * The listening port, stable across stop and start.
     *
     * @throws IllegalStateException before the first start when no port was configured
     */
    public synchronized int port() {
        if (port == 0) {
            throw new IllegalStateException("mosquitto has not been started yet");
        }
        return port;
    }

    /** mosquitto's own log file, useful when a test needs to know why a client was refused. */
    public Path logFile() {
        return root.resolve("mosquitto.log");
    }

    /** Stops the process, removes the shutdown hook and deletes the temporary directory. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        stop();
        if (hookRegistered) {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException jvmAlreadyExiting) {
                // The hook is running or about to; it only destroys a process that is gone.
            }
        }
        TempDirs.deleteQuietly(root);
    }

    private Path writeConfig() {
        StringBuilder conf = new StringBuilder();
        // As root, mosquitto switches to the "mosquitto" user, which cannot read our 0700 temp
        // directory; naming the current user keeps it as it is (no effect for non-root).
        conf.append("user ").append(System.getProperty("user.name")).append('\n');
        conf.append("listener ").append(port).append(' ').append(Loopback.HOST).append('\n');
        if (username != null) {
            conf.append("allow_anonymous false\n");
            conf.append("password_file ").append(writePasswordFile()).append('\n');
        } else {
            conf.append("allow_anonymous true\n");
        }
        conf.append("max_queued_messages ").append(maxQueuedMessages).append('\n');
        conf.append("max_inflight_messages ").append(maxInflightMessages).append('\n');
        conf.append("persistence false\n");
        conf.append("log_dest file ").append(logFile()).append('\n');
        conf.append("log_type error\nlog_type warning\nlog_type notice\n");
        Path file = root.resolve("mosquitto.conf");
        try {
            Files.writeString(file, conf, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write " + file, e);
        }
        return file;
    }

    private Path writePasswordFile() {
        Path file = root.resolve("passwd");
        if (Files.exists(file)) {
            return file;
        }
        String tool =
                Files.isExecutable(PASSWORD_TOOL) ? PASSWORD_TOOL.toString() : "mosquitto_passwd";
        Path output = root.resolve("mosquitto_passwd.log");
        try {
            Process passwd =
                    new ProcessBuilder(
                                    List.of(tool, "-c", "-b", file.toString(), username, password))
                            .redirectErrorStream(true)
                            .redirectOutput(output.toFile())
                            .start();
            if (!passwd.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                passwd.destroyForcibly();
                throw new IllegalStateException(tool + " did not finish");
            }
            if (passwd.exitValue() != 0) {
                throw new IllegalStateException(
                        tool + " failed: " + Files.readString(output).strip());
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot run " + tool, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while running " + tool, e);
        }
    }

    private void destroyProcess() {
        Process current = process;
        if (current == null || !current.isAlive()) {
            return;
        }
        current.destroy();
        try {
            if (!current.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                current.destroyForcibly().waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            current.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private String logTail() {
        StringBuilder tail = new StringBuilder();
        for (Path file : List.of(root.resolve("stdout.log"), logFile())) {
            try {
                if (Files.exists(file)) {
                    List<String> lines = Files.readAllLines(file);
                    lines.subList(Math.max(0, lines.size() - 20), lines.size())
                            .forEach(line -> tail.append(line).append('\n'));
                }
            } catch (IOException e) {
                tail.append("(cannot read ").append(file).append(": ").append(e).append(")\n");
            }
        }
        return tail.toString();
    }

    /** Configures a {@link MosquittoBroker}; {@link #build()} does not start it. */
    public static final class Builder {
        private Path executable = DEFAULT_EXECUTABLE;
        private String username;
        private String password;
        private int maxQueuedMessages = 0;
        private int maxInflightMessages = 1000;
        private int port;

        private Builder() {}

        /**
         * Requires this username and password from every client ({@code allow_anonymous false}).
         * The password file is built with {@code mosquitto_passwd -b}, which shows the password on
         * its command line for a moment: meant for tests, not for secrets.
         */
        public Builder credentials(String username, String password) {
            if (username == null || username.isEmpty() || password == null) {
                throw new IllegalArgumentException("A username and a password are required");
            }
            this.username = username;
            this.password = password;
            return this;
        }

        /** {@code max_queued_messages} per client; 0, the default here, means no limit. */
        public Builder maxQueuedMessages(int messages) {
            this.maxQueuedMessages = requireNonNegative(messages);
            return this;
        }

        /** {@code max_inflight_messages} per client; default 1000, 0 means no limit. */
        public Builder maxInflightMessages(int messages) {
            this.maxInflightMessages = requireNonNegative(messages);
            return this;
        }

        /** A fixed port on 127.0.0.1; default 0, a free port chosen at the first start. */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("Not a TCP port: " + port);
            }
            this.port = port;
            return this;
        }

        /** The mosquitto binary; default {@link #DEFAULT_EXECUTABLE}. */
        public Builder executable(Path executable) {
            this.executable = executable;
            return this;
        }

        /** Creates the broker without starting it. */
        public MosquittoBroker build() {
            return new MosquittoBroker(this);
        }

        private static int requireNonNegative(int value) {
            if (value < 0) {
                throw new IllegalArgumentException("Must not be negative: " + value);
            }
            return value;
        }
    }
}
