package io.hsmtls.token;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PIN handling: zeroing, printing, and every PIN source. */
class PinTest {
    @TempDir
    Path dir;

    @Test
    void close_zeroesTheCharacters_andRevealFailsAfterwards() {
        char[] chars = "123456".toCharArray();
        Pin pin = Pin.of(chars);
        assertEquals("123456", new String(pin.reveal()));
        pin.close();
        assertArrayEquals(new char[6], chars);
        assertTrue(pin.isClosed());
        assertThrows(IllegalStateException.class, pin::reveal);
    }

    @Test
    void toString_neverShowsThePin() {
        try (Pin pin = Pin.of("987654".toCharArray())) {
            assertEquals("Pin[redacted]", pin.toString());
            assertFalse(String.valueOf(pin).contains("987654"));
        }
    }

    @Test
    void copy_hasItsOwnLifetime() {
        Pin pin = Pin.of("1111".toCharArray());
        Pin copy = pin.copy();
        pin.close();
        assertEquals("1111", new String(copy.reveal()));
        copy.close();
    }

    @Test
    void fileSource_dropsOneTrailingNewline() throws Exception {
        Path f = dir.resolve("pin");
        Files.writeString(f, "abc 123\r\n");
        try (Pin pin = new PinSource.FromFile(f).read()) {
            assertEquals("abc 123", new String(pin.reveal()));
        }
        Files.writeString(f, "x\n\n");
        try (Pin pin = new PinSource.FromFile(f).read()) {
            assertEquals("x\n", new String(pin.reveal()), "only one newline is dropped");
        }
    }

    @Test
    void fileSource_missingOrEmptyFile_isAnError_notAnEmptyPin() throws Exception {
        Path missing = dir.resolve("nope");
        PinUnavailableException e = assertThrows(PinUnavailableException.class, () -> new PinSource.FromFile(missing).read());
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
        Path empty = dir.resolve("empty");
        Files.writeString(empty, "\n");
        e = assertThrows(PinUnavailableException.class, () -> new PinSource.FromFile(empty).read());
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
    }

    @Test
    void uriPinSource_acceptsFileSchemeFileUriAndPlainPath() {
        assertEquals(new PinSource.FromFile(Path.of("/etc/pin")), PinSource.fromUriPinSource("file:/etc/pin"));
        assertEquals(new PinSource.FromFile(Path.of("/etc/pin")), PinSource.fromUriPinSource("file:///etc/pin"));
        assertEquals(new PinSource.FromFile(Path.of("/etc/pin")), PinSource.fromUriPinSource("/etc/pin"));
        PinUnavailableException e = assertThrows(PinUnavailableException.class,
                () -> PinSource.fromUriPinSource("|/usr/bin/pinentry"));
        assertTrue(e.getMessage().contains("use a file"), e.getMessage());
        e = assertThrows(PinUnavailableException.class, () -> PinSource.fromUriPinSource("env:PIN"));
        assertTrue(e.getMessage().contains("only file:"), e.getMessage());
    }

    @Test
    void stdinSource_readsFirstLineOnly() {
        var in = new ByteArrayInputStream("s3cret\r\nnext line\n".getBytes(StandardCharsets.UTF_8));
        try (Pin pin = new PinSource.Stdin(in).read()) {
            assertEquals("s3cret", new String(pin.reveal()));
        }
        var empty = new ByteArrayInputStream(new byte[0]);
        assertThrows(PinUnavailableException.class, () -> new PinSource.Stdin(empty).read());
    }

    @Test
    void stdinSource_longPin_grows() {
        String longPin = "p".repeat(1000);
        try (Pin pin = new PinSource.Stdin(new ByteArrayInputStream((longPin + "\n").getBytes(StandardCharsets.UTF_8))).read()) {
            assertEquals(longPin, new String(pin.reveal()));
        }
    }

    @Test
    void envSource_warns_andMissingVariableIsAnError() {
        List<String> warnings = new ArrayList<>();
        // PATH is always set: stands in for a PIN variable without putting a PIN in the test environment.
        try (Pin pin = new PinSource.FromEnv("PATH", warnings::add).read()) {
            assertEquals(System.getenv("PATH"), new String(pin.reveal()));
        }
        assertEquals(1, warnings.size());
        assertTrue(warnings.get(0).contains("environment variable PATH"), warnings.get(0));
        assertThrows(PinUnavailableException.class,
                () -> new PinSource.FromEnv("HSMTLS_SURELY_UNSET_VARIABLE", warnings::add).read());
    }

    @Test
    void promptSource_withoutTerminal_failsInsteadOfHanging() {
        // Surefire runs without a terminal.
        PinUnavailableException e = assertThrows(PinUnavailableException.class, () -> new PinSource.Prompt("PIN: ").read());
        assertTrue(e.getMessage().contains("no terminal"), e.getMessage());
    }
}
