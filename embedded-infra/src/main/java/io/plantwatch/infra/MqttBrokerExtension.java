package io.plantwatch.infra;

/**
 * JUnit 5 extension running an {@link EmbeddedMqttBroker} (HiveMQ CE) for the tests of one class.
 *
 * <pre>{@code
 * @RegisterExtension static final MqttBrokerExtension mqtt = new MqttBrokerExtension();
 * @RegisterExtension static final MqttBrokerExtension secured =
 *         new MqttBrokerExtension(EmbeddedMqttBroker.builder().tls().credentials("plant", "pw"));
 * }</pre>
 */
public final class MqttBrokerExtension extends BrokerExtension<EmbeddedMqttBroker> {
    private final EmbeddedMqttBroker.Builder builder;

    /** A broker with the {@link EmbeddedMqttBroker} defaults. */
    public MqttBrokerExtension() {
        this(EmbeddedMqttBroker.builder());
    }

    /** A broker configured by {@code builder}, built and started before the class's tests. */
    public MqttBrokerExtension(EmbeddedMqttBroker.Builder builder) {
        this.builder = builder;
    }

    @Override
    EmbeddedMqttBroker startBroker() {
        return builder.build().start();
    }

    /** The running broker, e.g. to stop and restart it within a test. */
    public EmbeddedMqttBroker broker() {
        return current();
    }

    /** {@code tcp://127.0.0.1:PORT} of the running broker. */
    public String uri() {
        return current().uri();
    }

    /**
     * {@code ssl://127.0.0.1:PORT} of the running broker's TLS listener ({@code Builder.tls()}).
     */
    public String tlsUri() {
        return current().tlsUri();
    }

    /** The PEM file clients trust for {@link #tlsUri()}. */
    public java.nio.file.Path caFile() {
        return current().caFile();
    }

    /** {@code 127.0.0.1}. */
    public String host() {
        return current().host();
    }

    /** The running broker's port. */
    public int port() {
        return current().port();
    }
}
