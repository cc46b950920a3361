package io.plantwatch.model;

/** The state an alert event announces. */
public enum AlertState {
    OPEN,
    RESOLVED
}
