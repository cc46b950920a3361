package io.plantwatch.infra;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/** Loopback port helpers shared by the embedded brokers. */
public final class Loopback {
    /** The literal address, not "localhost", so an IPv6-first resolver cannot pick ::1. */
    static final String HOST = "127.0.0.1";

    private Loopback() {}

    /**
     * Returns {@code count} distinct ports that were free on 127.0.0.1 a moment ago.
     *
     * <p>All sockets stay open until every port is chosen so that the kernel cannot hand out the
     * same port twice; another process may still grab one before the broker binds it, which is the
     * usual accepted race of this technique.
     */
    public static int[] freePorts(int count) {
        List<ServerSocket> sockets = new ArrayList<>(count);
        try {
            int[] ports = new int[count];
            for (int i = 0; i < count; i++) {
                ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST));
                sockets.add(socket);
                ports[i] = socket.getLocalPort();
            }
            return ports;
        } catch (IOException e) {
            throw new UncheckedIOException("No free loopback port", e);
        } finally {
            for (ServerSocket socket : sockets) {
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // The port is released either way once the socket object is gone.
                }
            }
        }
    }

    /** True when something accepts TCP connections on 127.0.0.1:{@code port} right now. */
    static boolean isListening(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(HOST, port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Polls until the port accepts connections.
     *
     * @param alive checked between polls so that a crashed server fails fast instead of running
     *     into the deadline
     * @throws IllegalStateException when the server died or the deadline passed
     */
    static void awaitListening(int port, Duration timeout, BooleanSupplier alive, String what)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!isListening(port)) {
            if (!alive.getAsBoolean()) {
                throw new IllegalStateException(what + " exited before listening on port " + port);
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException(
                        what + " did not listen on port " + port + " within " + timeout);
            }
            Thread.sleep(20);
        }
    }

    /** Seconds with one decimal, for the start-up log line. */
    static String seconds(long startNanos) {
        return String.format(
                java.util.Locale.ROOT, "%.1f s", (System.nanoTime() - startNanos) / 1e9);
    }
}
