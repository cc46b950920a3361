package io.plantwatch.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** {@link SensorId#visible}: plant text as the console and e-mail receivers show it. */
class SensorIdVisibleTest {

    @Test
    void textThatShowsAsItselfIsLeftAsItIs() {
        String s = "press-3 Ölpumpe <!channel> {line} °C µS/cm 温度 🔥";
        assertThat(SensorId.visible(s)).isSameAs(s);
    }

    @Test
    void controlFormatAndSeparatorCharactersShowAsQuestionMarks() {
        // C0 (ESC, CR, LF, TAB), DEL, C1 (NEL, CSI)
        assertThat(SensorId.visible("\u001b[2K\r\n\t\u007f\u0085\u009bdegC"))
                .isEqualTo("?[2K??????degC");
        // Cf: bidi override and isolate, zero-width space and joiner, BOM, soft hyphen
        assertThat(SensorId.visible("a\u202eb\u2066c\u200bd\u200de\ufefff\u00adg"))
                .isEqualTo("a?b?c?d?e?f?g");
        // Zl, Zp
        assertThat(SensorId.visible("a\u2028b\u2029c")).isEqualTo("a?b?c");
        // A format character outside the BMP (a tag) is one character, one '?'.
        assertThat(SensorId.visible("x" + new String(Character.toChars(0xE0041)) + "y"))
                .isEqualTo("x?y");
    }

    @Test
    void errorMessagesAboutIdsShowTheLevelTheSameWay() {
        assertThatThrownBy(() -> SensorId.parse("s/a/l/m\u001b[2K\u202e/t"))
                .hasMessage("machine 'm?[2K?' contains a forbidden character");
    }
}
