package io.plantwatch.job;

/**
 * The job jar's entry point, its manifest's {@code Main-Class}. On Flink ({@code flink run}, a
 * standalone job cluster) it is {@link AnomalyJob#main}. Started with {@code java -jar}, Flink is
 * missing, as the jar leaves it to the cluster, and the JVM stopped with a NoClassDefFoundError for
 * a Flink class; this says how to run the job instead. It names no Flink class itself, so it loads
 * without Flink.
 */
public final class JobJarMain {
    private JobJarMain() {}

    public static void main(String[] args) {
        try {
            Class.forName(
                    "org.apache.flink.streaming.api.environment.StreamExecutionEnvironment",
                    false,
                    JobJarMain.class.getClassLoader());
        } catch (ClassNotFoundException noFlink) {
            System.err.println(
                    "anomaly-job.jar is a Flink job and runs on Flink: submit it to a cluster with"
                            + " `flink run anomaly-job.jar --kafka-bootstrap host:port [--config"
                            + " job.yaml] [--rules rules.yaml]`, or run it on a local Flink with"
                            + " `plantwatch job ...` (appliance/target/plantwatch.jar)");
            System.exit(2);
        }
        AnomalyJob.main(args);
    }
}
