package io.plantwatch.model;

import java.util.Objects;
import java.util.function.Function;

/**
 * The outcome of parsing untrusted input: a value, or a reason a person can read. Parsers return
 * this instead of throwing, so bad input never escapes into a caller's loop as an exception.
 */
public sealed interface Parsed<T> permits Parsed.Ok, Parsed.Rejected {

    static <T> Parsed<T> ok(T value) {
        return new Ok<>(value);
    }

    static <T> Parsed<T> rejected(RejectReason reason, String detail) {
        return new Rejected<>(reason, detail);
    }

    boolean isOk();

    /** The value; throws {@link IllegalStateException} naming the reason when rejected. */
    T value();

    <U> Parsed<U> map(Function<? super T, ? extends U> f);

    record Ok<T>(T value) implements Parsed<T> {
        public Ok {
            Objects.requireNonNull(value, "value");
        }

        @Override
        public boolean isOk() {
            return true;
        }

        @Override
        public <U> Parsed<U> map(Function<? super T, ? extends U> f) {
            return new Ok<>(f.apply(value));
        }
    }

    record Rejected<T>(RejectReason reason, String detail) implements Parsed<T> {
        public Rejected {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(detail, "detail");
        }

        @Override
        public boolean isOk() {
            return false;
        }

        @Override
        public T value() {
            throw new IllegalStateException("rejected: " + message());
        }

        @Override
        public <U> Parsed<U> map(Function<? super T, ? extends U> f) {
            return new Rejected<>(reason, detail);
        }

        /** One line for logs, DLQ headers and error output: {@code reason-code: detail}. */
        public String message() {
            return reason.code() + ": " + detail;
        }
    }
}
