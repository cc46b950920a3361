package io.plantwatch.job;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Numbers in alert messages: four significant digits, plain unless far from any reading. */
class FormatTest {
    @Test
    void numbersArePlainWithFourDigits() {
        assertThat(Format.number(65.4321)).isEqualTo("65.43");
        assertThat(Format.number(0.05)).isEqualTo("0.05");
        assertThat(Format.number(1200)).isEqualTo("1200");
        assertThat(Format.number(-0.0)).isEqualTo("0");
        assertThat(Format.number(123_456_789)).isEqualTo("123500000");
    }

    /** A broken sensor's 1.7e308 once made a message of 309 digits. */
    @Test
    void extremeNumbersTakeAnExponent() {
        assertThat(Format.number(1.7e308)).isEqualTo("1.7E+308");
        assertThat(Format.number(-2.5e20)).isEqualTo("-2.5E+20");
        assertThat(Format.number(4.9e-324)).isEqualTo("4.941E-324");
        assertThat(Format.number(Double.NaN)).isEqualTo("NaN");
    }
}
