package io.plantwatch.model;

/** OPC UA style quality of a reading, as the device reports it. */
public enum Quality {
    GOOD,
    UNCERTAIN,
    BAD
}
