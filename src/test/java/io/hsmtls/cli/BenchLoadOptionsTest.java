package io.hsmtls.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.bench.LoadSpec;
import io.hsmtls.bench.Mode;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code hsmtls bench load}'s echo options, parsed into the run they describe. */
class BenchLoadOptionsTest {
    private static LoadSpec parse(String... extra) {
        BenchCommand.Load load = new BenchCommand.Load();
        String[] base = {"--connect", "127.0.0.1:8443", "--trust", "x.pem"};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        new CommandLine(load).parseArgs(args);
        return load.spec();
    }

    @Test
    void echoConnectionsAndRate_reachTheSpec() {
        LoadSpec s = parse("--mode", "handshake", "--echo-connections", "16", "--echo-rate", "100");
        assertEquals(Mode.HANDSHAKE, s.mode());
        assertEquals(16, s.echoConnections());
        assertEquals(100.0, s.echoRate());
    }

    @Test
    void noEchoFlags_meanNoEchoConnections() {
        assertEquals(0, parse("--mode", "handshake").echoConnections());
        // Without echo connections the rate is irrelevant in any mode.
        assertEquals(0, parse("--mode", "bulk").echoConnections());
    }

    @Test
    void echoOutsideHandshakeMode_isRefusedWithTheReason() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> parse("--mode", "bulk", "--echo-connections", "4"));
        assertTrue(e.getMessage().contains("--mode handshake"), e.getMessage());
    }

    @Test
    void echoRateAndCountAreBounded() {
        assertThrows(IllegalArgumentException.class,
                () -> parse("--mode", "handshake", "--echo-connections", "4", "--echo-rate", "0"));
        assertThrows(IllegalArgumentException.class,
                () -> parse("--mode", "handshake", "--echo-connections", "4", "--echo-rate", "1e9"));
        assertThrows(IllegalArgumentException.class,
                () -> parse("--mode", "handshake", "--echo-connections", "100000"));
        assertThrows(IllegalArgumentException.class,
                () -> parse("--mode", "handshake", "--echo-connections", "-1"));
    }
}
