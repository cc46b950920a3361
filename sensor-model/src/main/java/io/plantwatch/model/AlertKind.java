package io.plantwatch.model;

/**
 * What kind of fault an alert reports. New kinds are added at the end; readers map unknown ones to
 * OTHER.
 */
public enum AlertKind {
    SPIKE,
    OUT_OF_RANGE,
    RATE_OF_CHANGE,
    FLATLINE,
    MISSING_DATA,
    DRIFT,
    SENSOR_FAULT,
    OTHER
}
