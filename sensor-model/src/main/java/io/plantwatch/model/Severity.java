package io.plantwatch.model;

/** How urgently a person must act, lowest first. */
public enum Severity {
    INFO,
    WARNING,
    CRITICAL
}
