package io.plantwatch.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import javax.net.ssl.TrustManagerFactory;

/**
 * The one way every Plantwatch component reads secrets and trust material from files, so that
 * tokens and passwords come from a file or the environment and never from code or logs.
 */
public final class Secrets {
    private Secrets() {}

    /**
     * The first line of {@code file}, without its line end: the format of Docker and Kubernetes
     * secret files, and of {@code echo secret > file}.
     *
     * @throws IllegalArgumentException naming the file (never its content) when it cannot be read
     */
    public static byte[] firstLine(Path file, String what) {
        try {
            return firstLine(Files.readAllBytes(file), what + " " + file);
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "cannot read " + what + " " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * {@link #firstLine(Path, String)} of a file's {@code content} as it was read; {@code what}
     * names the file.
     *
     * @throws IllegalArgumentException naming the file (never its content) when it is not UTF-8
     */
    public static byte[] firstLine(byte[] content, String what) {
        try {
            String text =
                    StandardCharsets.UTF_8
                            .newDecoder()
                            .decode(java.nio.ByteBuffer.wrap(content))
                            .toString();
            return text.lines().findFirst().orElse("").getBytes(StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IllegalArgumentException("cannot read " + what + ": " + e, e);
        }
    }

    /**
     * {@code message} with every quoted part that occurs in {@code secret} masked: a library's
     * reason for refusing a secret (Kafka's for a JAAS login) can quote the token it stumbled on,
     * which may be the password.
     */
    public static String maskQuotedParts(String message, String secret) {
        return java.util.regex.Pattern.compile("'([^']*)'|\"([^\"]*)\"")
                .matcher(String.valueOf(message))
                .replaceAll(
                        m -> {
                            String quoted = m.group(1) != null ? m.group(1) : m.group(2);
                            return !quoted.isEmpty() && secret.contains(quoted)
                                    ? "'****'"
                                    : java.util.regex.Matcher.quoteReplacement(m.group());
                        });
    }

    /** A trust manager factory that trusts exactly the CA certificates in a PEM file. */
    public static TrustManagerFactory trustFromPem(Path pem) {
        try {
            return trustFromPem(Files.readAllBytes(pem), pem.toString());
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "cannot read CA certificates from " + pem + ": " + e.getMessage(), e);
        }
    }

    /**
     * A trust manager factory that trusts exactly the CA certificates in {@code pem}, the content
     * of the file named {@code name} as it was read.
     */
    public static TrustManagerFactory trustFromPem(byte[] pem, String name) {
        String source = name;
        try (InputStream in = new java.io.ByteArrayInputStream(pem)) {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            int i = 0;
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                ks.setCertificateEntry("ca-" + i++, c);
            }
            if (i == 0) {
                throw new IllegalArgumentException("no certificate in " + source);
            }
            TrustManagerFactory tmf =
                    TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            return tmf;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException(
                    "cannot read CA certificates from " + source + ": " + e.getMessage(), e);
        }
    }
}
