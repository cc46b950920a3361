package io.plantwatch.infra;

import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * JUnit 5 extension running a {@link MosquittoBroker} child process for the tests of one class.
 *
 * <p>Without {@code /usr/sbin/mosquitto} the class is skipped, except when the environment variable
 * {@code CI} is {@code true}: CI installs mosquitto, so there a missing binary fails the class
 * instead of silently skipping its tests.
 *
 * <pre>{@code
 * @RegisterExtension static final MosquittoExtension mosquitto = new MosquittoExtension();
 * }</pre>
 */
public final class MosquittoExtension extends BrokerExtension<MosquittoBroker> {
    private final MosquittoBroker.Builder builder;
    private final BooleanSupplier installed;
    private final UnaryOperator<String> environment;

    /** An anonymous broker with the {@link MosquittoBroker} defaults. */
    public MosquittoExtension() {
        this(MosquittoBroker.builder());
    }

    /** A broker configured by {@code builder}, built and started before the class's tests. */
    public MosquittoExtension(MosquittoBroker.Builder builder) {
        this(builder, MosquittoBroker::isInstalled, System::getenv);
    }

    MosquittoExtension(
            MosquittoBroker.Builder builder,
            BooleanSupplier installed,
            UnaryOperator<String> environment) {
        this.builder = builder;
        this.installed = installed;
        this.environment = environment;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        requireMosquitto();
        super.beforeAll(context);
    }

    /** Aborts (skips) or, on CI, fails when mosquitto is missing. */
    void requireMosquitto() {
        if (installed.getAsBoolean()) {
            return;
        }
        String where = MosquittoBroker.DEFAULT_EXECUTABLE.toString();
        if ("true".equalsIgnoreCase(environment.apply("CI"))) {
            throw new IllegalStateException(
                    "mosquitto is not installed at "
                            + where
                            + " but CI=true; CI must install it first:"
                            + " apt-get install -y mosquitto mosquitto-clients");
        }
        Assumptions.abort(
                "mosquitto is not installed at "
                        + where
                        + "; skipping (apt-get install mosquitto mosquitto-clients)");
    }

    @Override
    MosquittoBroker startBroker() {
        return builder.build().start();
    }

    /** The running broker, e.g. to stop and restart it within a test. */
    public MosquittoBroker broker() {
        return current();
    }

    /** {@code tcp://127.0.0.1:PORT} of the running broker. */
    public String uri() {
        return current().uri();
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
