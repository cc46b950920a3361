package io.plantwatch.model;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/** Ports a part is about to listen on, checked before anything stops or starts for them. */
public final class FreePorts {
    private FreePorts() {}

    /**
     * Refuses {@code port} on {@code address} when something holds it, with one line naming the
     * setting and the fix; port 0 (any free port) passes.
     */
    public static void requireFree(String address, int port, String setting, String fix) {
        if (port == 0) {
            return;
        }
        try (ServerSocket probe = new ServerSocket()) {
            probe.bind(new InetSocketAddress(address, port));
        } catch (IOException e) {
            throw new ConfigException(
                    setting + " " + port + " is taken (" + e.getMessage() + "): " + fix);
        }
    }
}
