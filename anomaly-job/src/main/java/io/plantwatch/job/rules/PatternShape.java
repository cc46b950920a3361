package io.plantwatch.job.rules;

import java.io.Serializable;

/**
 * What a CEP pattern's structure depends on: how many consecutive readings and within how long. A
 * Flink CEP pattern is fixed when the job is built, so the job builds one pattern per shape that
 * the rule book can produce and routes each sensor's observations to its own.
 */
public record PatternShape(int count, long withinMillis) implements Serializable {}
