package io.plantwatch.alerting;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A real STARTTLS front for GreenMail, whose SMTP server has no STARTTLS: it offers STARTTLS in the
 * EHLO answer, performs the TLS handshake with a certificate made by the JDK's keytool, and relays
 * the decrypted session to GreenMail. It records every command sent before TLS, so a test can check
 * that no credentials crossed in clear.
 */
final class StartTlsRelay implements AutoCloseable {
    private final ServerSocket server;
    private final int upstreamPort;
    private final SSLContext tls;
    final AtomicInteger tlsSessions = new AtomicInteger();
    final List<String> plaintextCommands = new CopyOnWriteArrayList<>();

    StartTlsRelay(int upstreamPort, Path dir) throws Exception {
        this.upstreamPort = upstreamPort;
        this.tls = selfSigned(dir);
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(this::acceptLoop, "starttls-relay");
        t.setDaemon(true);
        t.start();
    }

    int port() {
        return server.getLocalPort();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Thread t = new Thread(() -> session(client), "starttls-relay-session");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void session(Socket client) {
        try (client;
                Socket up = new Socket(InetAddress.getLoopbackAddress(), upstreamPort)) {
            InputStream upIn = up.getInputStream();
            OutputStream upOut = up.getOutputStream();
            InputStream cIn = client.getInputStream();
            OutputStream cOut = client.getOutputStream();
            write(cOut, readReply(upIn));
            while (true) {
                String line = readLine(cIn);
                if (line == null) {
                    return;
                }
                plaintextCommands.add(line);
                String verb = line.split(" ", 2)[0].toUpperCase(java.util.Locale.ROOT);
                if (verb.equals("STARTTLS")) {
                    write(cOut, "220 Ready to start TLS\r\n");
                    SSLSocket secured =
                            (SSLSocket)
                                    tls.getSocketFactory()
                                            .createSocket(
                                                    client,
                                                    client.getInetAddress().getHostAddress(),
                                                    client.getPort(),
                                                    true);
                    secured.setUseClientMode(false);
                    secured.startHandshake();
                    tlsSessions.incrementAndGet();
                    pump(secured, up);
                    return;
                }
                write(upOut, line + "\r\n");
                String reply = readReply(upIn);
                if (verb.equals("EHLO")) {
                    // Offer STARTTLS as the last capability.
                    int last = reply.lastIndexOf("250 ");
                    reply =
                            reply.substring(0, last)
                                    + "250-"
                                    + reply.substring(last + 4)
                                    + "250 STARTTLS\r\n";
                }
                write(cOut, reply);
            }
        } catch (IOException e) {
            // the client went away
        }
    }

    private static void pump(SSLSocket client, Socket up) throws IOException {
        Thread back =
                new Thread(
                        () -> {
                            try {
                                up.getInputStream().transferTo(client.getOutputStream());
                            } catch (IOException e) {
                                // closed
                            }
                        });
        back.setDaemon(true);
        back.start();
        try {
            client.getInputStream().transferTo(up.getOutputStream());
        } finally {
            up.shutdownOutput();
        }
        try {
            back.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One CRLF-terminated line, read byte by byte so no TLS bytes are swallowed. */
    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\n') {
                String s = b.toString(StandardCharsets.US_ASCII);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            b.write(c);
        }
        return null;
    }

    /** A whole SMTP reply: lines up to the one with a space after the code. */
    private static String readReply(InputStream in) throws IOException {
        StringBuilder r = new StringBuilder();
        String line;
        do {
            line = readLine(in);
            if (line == null) {
                throw new IOException("upstream closed");
            }
            r.append(line).append("\r\n");
        } while (line.length() > 3 && line.charAt(3) == '-');
        return r.toString();
    }

    private static void write(OutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    private static SSLContext selfSigned(Path dir) throws Exception {
        Path store = dir.resolve("relay.p12");
        char[] pass = "relay-test".toCharArray();
        Process p =
                new ProcessBuilder(
                                Path.of(System.getProperty("java.home"), "bin", "keytool")
                                        .toString(),
                                "-genkeypair",
                                "-alias",
                                "smtp",
                                "-keyalg",
                                "EC",
                                "-validity",
                                "2",
                                "-dname",
                                "CN=127.0.0.1",
                                "-ext",
                                "SAN=ip:127.0.0.1",
                                "-storetype",
                                "PKCS12",
                                "-keystore",
                                store.toString(),
                                "-storepass",
                                new String(pass))
                        .redirectErrorStream(true)
                        .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0 || !Files.exists(store)) {
            throw new IllegalStateException("keytool failed: " + out);
        }
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            ks.load(in, pass);
        }
        KeyManagerFactory kmf =
                KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, pass);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
