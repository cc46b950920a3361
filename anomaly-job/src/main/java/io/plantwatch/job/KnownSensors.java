package io.plantwatch.job;

import io.plantwatch.model.SensorId;
import java.util.Arrays;

/**
 * One {@link SensorId} object per sensor, found by its readings' Kafka key, for one source subtask.
 * Every reading of a sensor then carries the same id object, so the detectors' keyed state finds a
 * sensor's entry by comparing references rather than five strings, and its key's hash reuses the
 * strings' cached hashes; both were a sixth of the detecting task's CPU.
 *
 * <p>An open-addressing table of the keys' bytes. It holds at most {@link #MAX_SENSORS} sensors and
 * starts empty again past that: a plant's fleet fits, and a producer writing random keys cannot
 * make it grow without bound. Only the job's speed depends on it, never what it detects.
 */
final class KnownSensors {
    static final int MAX_SENSORS = 1 << 20;
    private static final int INITIAL_SLOTS = 1 << 10;

    private final int maxSensors;
    private byte[][] keys = new byte[INITIAL_SLOTS][];
    private SensorId[] ids = new SensorId[INITIAL_SLOTS];
    private int size;

    KnownSensors() {
        this(MAX_SENSORS);
    }

    KnownSensors(int maxSensors) {
        this.maxSensors = maxSensors;
    }

    /** The id known for {@code key}, or null. */
    SensorId get(byte[] key) {
        int mask = keys.length - 1;
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
            byte[] k = keys[i];
            if (k == null) {
                return null;
            }
            if (Arrays.equals(k, key)) {
                return ids[i];
            }
        }
    }

    /** Remembers {@code id} as the sensor keyed {@code key}; the key is copied. */
    void put(byte[] key, SensorId id) {
        if (size >= maxSensors) {
            keys = new byte[INITIAL_SLOTS][];
            ids = new SensorId[INITIAL_SLOTS];
            size = 0;
        }
        if (2 * (size + 1) > keys.length) {
            grow();
        }
        if (insert(keys, ids, key.clone(), id)) {
            size++;
        }
    }

    int size() {
        return size;
    }

    private void grow() {
        byte[][] k = new byte[keys.length * 2][];
        SensorId[] v = new SensorId[k.length];
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != null) {
                insert(k, v, keys[i], ids[i]);
            }
        }
        keys = k;
        ids = v;
    }

    /** True when {@code key} was new to the table. */
    private static boolean insert(byte[][] keys, SensorId[] ids, byte[] key, SensorId id) {
        int mask = keys.length - 1;
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
            if (keys[i] == null) {
                keys[i] = key;
                ids[i] = id;
                return true;
            }
            if (Arrays.equals(keys[i], key)) {
                ids[i] = id;
                return false;
            }
        }
    }

    private static int slot(byte[] key, int mask) {
        int h = Arrays.hashCode(key);
        // Ids of one plant share long prefixes and differ near the end; spread those bits.
        return (h ^ (h >>> 16)) * 0x9E3779B9 & mask;
    }
}
