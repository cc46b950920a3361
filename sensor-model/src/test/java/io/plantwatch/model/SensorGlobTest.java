package io.plantwatch.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.List;
import org.junit.jupiter.api.Test;

class SensorGlobTest {

    static final List<String> GLOBS =
            List.of(
                    "**",
                    "*",
                    "*/*/*/*/*",
                    "dresden/**",
                    "dresden/**/oil-temp",
                    "*/press-shop/*/*/temp-?",
                    "*/*/*/press-{1,2,10}/*",
                    "*/*/*/*/{temp,pressure}-*",
                    "*/*/*/*/temp-[0-9]",
                    "*/*/*/*/temp-[!0-9]",
                    "*/*/*/*/temp-[-a]",
                    "*/*/*/*/t.mp+(1)",
                    "*/*/*/*/temp-\\*",
                    "**/line-1/**",
                    "d*n/**",
                    "*/*/*/*/a,b",
                    "*/*/*/*/x}");

    static final List<String> IDS =
            List.of(
                    "dresden/press-shop/line-1/press-1/temp-1",
                    "dresden/press-shop/line-1/press-10/oil-temp",
                    "dresden/press-shop/line-1/press-3/temp-a",
                    "dresden/press-shop/line-1/press-3/temp--",
                    "dresden/press-shop/line-1/press-2/pressure-2",
                    "berlin/hall/line-1/m/t.mp+(1)",
                    "berlin/hall/line-1/m/tximp+(1)",
                    "berlin/hall/line-2/m/temp-*",
                    "berlin/hall/line-2/m/temp-x",
                    "berlin/hall/line-2/m/a,b",
                    "berlin/hall/line-2/m/x}",
                    "dn/a/b/c/d",
                    "dresden");

    /** The same answers as the JDK's own glob matcher, whose syntax the rules files document. */
    @Test
    void matchesAsTheJdksGlobPathMatcherDoes() {
        for (String glob : GLOBS) {
            PathMatcher jdk = FileSystems.getDefault().getPathMatcher("glob:" + glob);
            SensorGlob ours = new SensorGlob(glob);
            for (String id : IDS) {
                assertThat(ours.matches(id))
                        .as(glob + " on " + id)
                        .isEqualTo(jdk.matches(Path.of(id)));
            }
        }
    }

    @Test
    void theSameGlobsAreRefusedWithTheJdksReason() {
        for (String glob : List.of("a/{b,{c}}", "a/[b", "a/{b", "a/[z-a]", "a/[b/c]", "a\\")) {
            assertThatThrownBy(() -> FileSystems.getDefault().getPathMatcher("glob:" + glob))
                    .as(glob)
                    .isInstanceOf(java.util.regex.PatternSyntaxException.class);
            assertThatThrownBy(() -> new SensorGlob(glob))
                    .as(glob)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("sensor glob '" + glob + "' is invalid: ");
        }
    }

    /**
     * A sensor id is text, not a path: a letter outside the platform's file name encoding (a JVM
     * started under the C locale encodes paths in ASCII) is matched like any other.
     */
    @Test
    void matchesIdsWithLettersOfAnyLanguage() {
        assertThat(new SensorGlob("köln/**").matches("köln/halle-2/l1/m1/temp")).isTrue();
        assertThat(new SensorGlob("*/*/*/*/温度").matches("köln/halle-2/l1/m1/温度")).isTrue();
        assertThat(new SensorGlob("*/*/*/*/?").matches("köln/halle-2/l1/m1/ß")).isTrue();
        assertThat(new SensorGlob("koln/**").matches("köln/halle-2/l1/m1/temp")).isFalse();
    }

    /** What {@link #underTheCLocale} runs: prints the JVM's file name encoding and a match. */
    public static final class CLocaleProbe {
        public static void main(String[] args) {
            System.out.println("jnu=" + System.getProperty("sun.jnu.encoding"));
            System.out.println(
                    "matched=" + new SensorGlob("köln/**").matches("köln/halle-2/l1/m1/öl-temp"));
        }
    }

    /**
     * A JVM started without a locale (a systemd unit, cron, {@code env -i}) encodes file names in
     * ASCII, and {@code Path.of} of such an id threw: a reading stopped the gateway's intake and
     * the job's rule lookup.
     */
    @Test
    void underTheCLocale() throws Exception {
        ProcessBuilder pb =
                new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-cp",
                        System.getProperty("java.class.path"),
                        CLocaleProbe.class.getName());
        pb.environment().keySet().removeIf(k -> k.startsWith("LC_") || k.equals("LANG"));
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out =
                new String(
                        p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(out).doesNotContain("jnu=UTF-8").contains("jnu=").contains("matched=true");
    }
}
