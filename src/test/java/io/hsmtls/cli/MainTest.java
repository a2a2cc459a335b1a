package io.hsmtls.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The root command and the exit-code mapping, without a token. */
class MainTest {

    @Test
    void version_printsNameAndExitsZero() {
        CliRun r = CliRun.of("--version");
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.out().startsWith("hsmtls "), r::toString);
        // The test JVM has native access and libcrypto.so.3 (the openssl package), as serve does.
        assertTrue(r.out().contains("X25519 key exchange: OpenSSL 3."), r::toString);
    }

    @Test
    void help_listsSubcommands() {
        CliRun r = CliRun.of("--help");
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.out().contains("token"), r::toString);
    }

    @Test
    void noSubcommand_printsUsageAsUsageError() {
        CliRun r = CliRun.of();
        assertEquals(2, r.code(), r::toString);
        assertTrue(r.err().contains("Usage: hsmtls"), r::toString);
    }

    @Test
    void unknownOption_isUsageError() {
        CliRun r = CliRun.of("token", "list", "--no-such-flag");
        assertEquals(2, r.code(), r::toString);
        assertTrue(r.err().startsWith("hsmtls: "), r::toString);
    }

    @Test
    void malformedUri_isUsageErrorQuotingIt() {
        CliRun r = CliRun.of("token", "list", "--token", "pkcs11:token=a;bogus=1");
        assertEquals(2, r.code(), r::toString);
        assertTrue(r.err().contains("'pkcs11:token=a;bogus=1'"), r::toString);
        assertFalse(r.err().contains("\tat "), r::toString);
    }

    @Test
    void pinValueInUri_isRefusedAndNotEchoed() {
        CliRun r = CliRun.of("token", "list", "--token", "pkcs11:token=a?pin-value=987654");
        assertEquals(2, r.code(), r::toString);
        assertTrue(r.err().contains("PIN on the command line"), r::toString);
        assertTrue(r.err().contains("--pin-file"), r::toString);
        assertFalse(r.err().contains("987654"), r::toString);
    }

    @Test
    void twoPinSources_isUsageError() {
        CliRun r = CliRun.of("token", "list", "--module", "/usr/lib/softhsm/libsofthsm2.so", "--pin-stdin",
                "--pin-env", "X");
        assertEquals(2, r.code(), r::toString);
        assertTrue(r.err().contains("--pin-stdin and --pin-env"), r::toString);
    }

    @Test
    void missingModule_failsClearly() {
        CliRun r = CliRun.of("token", "list", "--module", "/nonexistent/libnothing.so");
        assertEquals(1, r.code(), r::toString);
        assertTrue(r.err().contains("/nonexistent/libnothing.so"), r::toString);
        assertTrue(r.err().contains("no such file"), r::toString);
        assertEquals(1, r.err().lines().count(), r::toString);
    }

    @Test
    void verbose_addsStackTrace() {
        CliRun r = CliRun.of("token", "list", "--module", "/nonexistent/libnothing.so", "-v");
        assertEquals(1, r.code(), r::toString);
        assertTrue(r.err().startsWith("hsmtls: "), r::toString);
        assertTrue(r.err().contains("\tat io.hsmtls."), r::toString);
    }
}
