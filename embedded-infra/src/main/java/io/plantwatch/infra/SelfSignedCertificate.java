package io.plantwatch.infra;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A server certificate for 127.0.0.1 and localhost, made at test time by the JDK's own {@code
 * keytool}, so no key or certificate is ever committed. It is its own CA: {@link #caFile()} is what
 * a client trusts, {@link #keyStore()} what a broker presents.
 *
 * <p>Two of them are two unrelated CAs: a client given the other one's {@link #caFile()} must
 * refuse the server, which is how a test shows that a client checks the certificate at all.
 */
public final class SelfSignedCertificate implements AutoCloseable {
    private static final String ALIAS = "plantwatch-test";
    private static final String PASSWORD_ENV = "PLANTWATCH_TEST_STOREPASS";
    private static final Duration KEYTOOL_TIMEOUT = Duration.ofSeconds(60);

    private final Path root;
    private final String keyStorePassword;

    private SelfSignedCertificate(Path root, String keyStorePassword) {
        this.root = root;
        this.keyStorePassword = keyStorePassword;
    }

    /**
     * Generates a fresh key pair and certificate (EC P-256, valid two days) with the subject
     * alternative names {@code ip:127.0.0.1} and {@code dns:localhost}, so hostname verification
     * passes for either.
     */
    public static SelfSignedCertificate generate() {
        Path root = TempDirs.create("plantwatch-tls-");
        byte[] random = new byte[18];
        new SecureRandom().nextBytes(random);
        SelfSignedCertificate cert =
                new SelfSignedCertificate(root, Base64.getUrlEncoder().encodeToString(random));
        try {
            cert.keytool(
                    "-genkeypair",
                    "-alias",
                    ALIAS,
                    "-keyalg",
                    "EC",
                    "-groupname",
                    "secp256r1",
                    // A subject of its own: two certificates are then two unrelated CAs.
                    "-dname",
                    "CN=plantwatch-test-" + java.util.UUID.randomUUID(),
                    "-ext",
                    "SAN=ip:127.0.0.1,dns:localhost",
                    "-validity",
                    "2",
                    "-storetype",
                    "PKCS12",
                    "-keystore",
                    cert.keyStore().toString(),
                    "-storepass:env",
                    PASSWORD_ENV);
            cert.keytool(
                    "-exportcert",
                    "-rfc",
                    "-alias",
                    ALIAS,
                    "-keystore",
                    cert.keyStore().toString(),
                    "-storepass:env",
                    PASSWORD_ENV,
                    "-file",
                    cert.caFile().toString());
            return cert;
        } catch (RuntimeException e) {
            cert.close();
            throw e;
        }
    }

    /** The PKCS12 key store holding the private key and certificate, for the server. */
    public Path keyStore() {
        return root.resolve("server.p12");
    }

    /**
     * The key store's password, which is also the private key's (PKCS12 has one for both). Random
     * per certificate; it protects a throwaway key in a temporary directory.
     */
    public String keyStorePassword() {
        return keyStorePassword;
    }

    /** The certificate in PEM, for clients to trust ({@code mqtt.ca-file}, {@code --ca-file}). */
    public Path caFile() {
        return root.resolve("ca.pem");
    }

    /** Deletes the key store and the PEM file. */
    @Override
    public void close() {
        TempDirs.deleteQuietly(root);
    }

    private void keytool(String... args) {
        Path tool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        Path output = root.resolve("keytool.log");
        ProcessBuilder builder =
                new ProcessBuilder(concat(tool.toString(), args).toArray(String[]::new))
                        .redirectErrorStream(true)
                        .redirectOutput(output.toFile());
        // From the environment, not the command line, where every user of the machine sees it.
        builder.environment().put(PASSWORD_ENV, keyStorePassword);
        try {
            Process process = builder.start();
            if (!process.waitFor(KEYTOOL_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("keytool " + args[0] + " did not finish");
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException(
                        "keytool "
                                + args[0]
                                + " failed: "
                                + Files.readString(output, StandardCharsets.UTF_8).strip());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot run " + tool, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while running keytool", e);
        }
    }

    private static List<String> concat(String first, String... rest) {
        List<String> all = new java.util.ArrayList<>(rest.length + 1);
        all.add(first);
        all.addAll(List.of(rest));
        return all;
    }
}
