package io.plantwatch.infra;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Starts a broker before the first test of the class that registers it and closes it after the last
 * one. Nested test classes see the outer class's broker instead of starting their own.
 */
abstract class BrokerExtension<B extends AutoCloseable>
        implements BeforeAllCallback, AfterAllCallback {
    private B broker;
    private String ownerContextId;

    /** Creates and starts the broker; called once per registering test class. */
    abstract B startBroker() throws Exception;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        if (broker == null) {
            broker = startBroker();
            ownerContextId = context.getUniqueId();
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        if (broker != null && context.getUniqueId().equals(ownerContextId)) {
            try {
                broker.close();
            } finally {
                broker = null;
                ownerContextId = null;
            }
        }
    }

    /** The running broker; fails clearly when used outside the class lifecycle. */
    B current() {
        if (broker == null) {
            throw new IllegalStateException(
                    getClass().getSimpleName()
                            + " is not started: register it on a static field with"
                            + " @RegisterExtension and use it from tests of that class");
        }
        return broker;
    }
}
