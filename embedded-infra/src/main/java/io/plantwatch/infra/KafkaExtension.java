package io.plantwatch.infra;

/**
 * JUnit 5 extension running an {@link EmbeddedKafka} for the tests of one class.
 *
 * <pre>{@code
 * @RegisterExtension static final KafkaExtension kafka = new KafkaExtension();
 *
 * @Test void sends() { producerProps.put("bootstrap.servers", kafka.bootstrapServers()); }
 * }</pre>
 */
public final class KafkaExtension extends BrokerExtension<EmbeddedKafka> {
    private final EmbeddedKafka.Builder builder;

    /** One broker with the {@link EmbeddedKafka} defaults. */
    public KafkaExtension() {
        this(EmbeddedKafka.builder());
    }

    /** A cluster configured by {@code builder}, built and started before the class's tests. */
    public KafkaExtension(EmbeddedKafka.Builder builder) {
        this.builder = builder;
    }

    @Override
    EmbeddedKafka startBroker() {
        return builder.build().start();
    }

    /** The running cluster, e.g. to stop and restart it within a test. */
    public EmbeddedKafka kafka() {
        return current();
    }

    /** {@link EmbeddedKafka#bootstrapServers()} of the running cluster. */
    public String bootstrapServers() {
        return current().bootstrapServers();
    }
}
