package io.plantwatch.alerting;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.plantwatch.model.Alert;

/**
 * What an alert says in numbers, as every JSON Plantwatch sends or serves writes it (webhooks,
 * MQTT, PagerDuty's custom details, the HTTP API): the readings that decided it, their unit, and
 * the limits of its rule by name. A consumer then compares or charts them without reading the
 * message.
 */
final class AlertDetail {
    private AlertDetail() {}

    /**
     * Adds {@code values} (oldest first; a reading that is not a finite number as null, which JSON
     * has no other word for), {@code unit} when known and {@code limits} (an object, empty when the
     * job that sent the alert did not say them).
     */
    static void put(ObjectNode o, Alert a) {
        ArrayNode values = o.putArray("values");
        for (double v : a.values()) {
            if (Double.isFinite(v)) {
                values.add(v);
            } else {
                values.addNull();
            }
        }
        if (!a.unit().isEmpty()) {
            o.put("unit", a.unit());
        }
        ObjectNode limits = o.putObject("limits");
        a.limits().forEach(limits::put);
    }
}
