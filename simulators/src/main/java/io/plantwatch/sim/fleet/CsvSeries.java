package io.plantwatch.sim.fleet;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A time series read from CSV: NAB's {@code timestamp,value}, or a {@code ;}-separated file with a
 * datetime column and one column per sensor (decimal commas accepted, empty cells skipped).
 */
public record CsvSeries(List<String> columns, List<Row> rows) {

    /** One line: its event time and one value per column (NaN where the cell was empty). */
    public record Row(long timestamp, double[] values) {}

    private static final DateTimeFormatter LOCAL =
            new DateTimeFormatterBuilder()
                    .appendPattern("yyyy-MM-dd")
                    .optionalStart()
                    .appendLiteral('T')
                    .optionalEnd()
                    .optionalStart()
                    .appendLiteral(' ')
                    .optionalEnd()
                    .appendPattern("HH:mm")
                    .optionalStart()
                    .appendPattern(":ss")
                    .optionalEnd()
                    .optionalStart()
                    .appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true)
                    .optionalEnd()
                    .toFormatter();

    /**
     * Reads {@code file}; zone-less timestamps are in {@code zone}. Errors name the file and line.
     */
    public static CsvSeries read(Path file, ZoneId zone) {
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String header = in.readLine();
            if (header == null) {
                throw new IllegalArgumentException(file + ": empty file");
            }
            header = header.replace("\uFEFF", "");
            String sep = header.contains(";") ? ";" : ",";
            String[] names = header.split(sep, -1);
            if (names.length < 2) {
                throw new IllegalArgumentException(
                        file + ": header '" + header + "' needs a time column and a value column");
            }
            List<String> columns = new ArrayList<>();
            for (int i = 1; i < names.length; i++) {
                columns.add(names[i].trim());
            }
            List<Row> rows = new ArrayList<>();
            String line;
            int lineNo = 1;
            while ((line = in.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                String[] cells = line.split(sep, -1);
                if (cells.length != names.length) {
                    throw new IllegalArgumentException(
                            file
                                    + ":"
                                    + lineNo
                                    + ": "
                                    + cells.length
                                    + " cells, the header has "
                                    + names.length);
                }
                long ts = parseTime(cells[0].trim(), zone, file, lineNo);
                double[] values = new double[columns.size()];
                Arrays.fill(values, Double.NaN);
                for (int i = 1; i < cells.length; i++) {
                    String c = cells[i].trim();
                    if (c.isEmpty()) {
                        continue;
                    }
                    if (sep.equals(";") && c.indexOf(',') >= 0 && c.indexOf('.') < 0) {
                        c = c.replace(',', '.');
                    }
                    try {
                        values[i - 1] = Double.parseDouble(c);
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException(
                                file
                                        + ":"
                                        + lineNo
                                        + ": '"
                                        + c
                                        + "' in column "
                                        + names[i]
                                        + " is not a number");
                    }
                }
                rows.add(new Row(ts, values));
            }
            if (rows.isEmpty()) {
                throw new IllegalArgumentException(file + ": no data rows");
            }
            return new CsvSeries(List.copyOf(columns), rows);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IllegalArgumentException(file + " does not exist", e);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** Parses a timestamp as NAB and spreadsheets write them, or epoch milliseconds. */
    public static long parseTime(String text, ZoneId zone, Path file, int lineNo) {
        try {
            if (!text.isEmpty() && text.chars().allMatch(Character::isDigit)) {
                return Long.parseLong(text);
            }
            if (text.endsWith("Z") || text.matches(".*[+-]\\d\\d:?\\d\\d$")) {
                return OffsetDateTime.parse(text.replace(' ', 'T')).toInstant().toEpochMilli();
            }
            return LocalDateTime.parse(text, LOCAL).atZone(zone).toInstant().toEpochMilli();
        } catch (DateTimeParseException | NumberFormatException e) {
            throw new IllegalArgumentException(
                    (file != null ? file + ":" + lineNo + ": " : "")
                            + "'"
                            + text
                            + "' is not a timestamp (yyyy-MM-dd HH:mm:ss, ISO-8601 or epoch ms)");
        }
    }

    public long firstTimestamp() {
        return rows.get(0).timestamp();
    }

    public long lastTimestamp() {
        return rows.get(rows.size() - 1).timestamp();
    }

    public static Instant instant(long millis) {
        return Instant.ofEpochMilli(millis);
    }
}
