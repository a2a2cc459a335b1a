package io.hsmtls.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ResultTableTest {
    @Test
    void lineRoundTrip_keepsServerScenarioAndFigures() {
        String line = new LoadResult(Map.of("hs_per_cpu_s", 2150.5)).toLine("nginx", "hs13-ec");
        assertEquals("BENCH\tserver=nginx\tscenario=hs13-ec\ths_per_cpu_s=2150.5000", line);
        ResultTable t = new ResultTable();
        t.add(line);
        assertEquals(List.of(2150.5), t.values("hs13-ec", "hs_per_cpu_s", "nginx"));
    }

    @Test
    void render_minMedianMaxPerServer_inOrderOfAppearance() {
        ResultTable t = new ResultTable();
        // Interleaved repeats, as bench.sh writes them.
        for (double[] r : new double[][] {{700, 2100}, {650, 2200}, {720, 2150}}) {
            t.add("BENCH\tserver=sunjsse\tscenario=hs13-ec\ths_per_cpu_s=" + r[0]);
            t.add("BENCH\tserver=nginx\tscenario=hs13-ec\ths_per_cpu_s=" + r[1]);
        }
        String out = t.render();
        String[] lines = out.split("\n");
        assertTrue(lines[0].matches("scenario\\s+figure\\s+sunjsse min/med/max \\(n\\)\\s+nginx min/med/max \\(n\\)"),
                lines[0]);
        assertTrue(lines[1].matches("hs13-ec\\s+hs_per_cpu_s\\s+650 / 700 / 720 \\(3\\)\\s+2100 / 2150 / 2200 \\(3\\)"),
                lines[1]);
        assertEquals(2, lines.length);
    }

    @Test
    void missingServerOrFigure_showsDash_failedScenarioShowsFailed() {
        ResultTable t = new ResultTable();
        t.add("BENCH\tserver=hsmtls\tscenario=hs12-rsa-kx\ths_per_cpu_s=470");
        t.add("BENCH\tserver=nginx\tscenario=hs12-rsa-kx\tfailed=1");
        String out = t.render();
        assertTrue(out.matches("(?s).*hs_per_cpu_s\\s+470 / 470 / 470 \\(1\\)\\s+-\n.*"), out);
        assertTrue(out.matches("(?s).*failed\\s+-\\s+1 / 1 / 1 \\(1\\).*"), out);
    }

    @Test
    void errorsRow_onlyWhenSomeRunHadErrors() {
        ResultTable t = new ResultTable();
        t.add("BENCH\tserver=a\tscenario=s\ths_per_s=10\terrors=0");
        assertTrue(!t.render().contains("errors"), t.render());
        t.add("BENCH\tserver=b\tscenario=s\ths_per_s=10\terrors=3");
        assertTrue(t.render().contains("errors"), t.render());
    }

    @Test
    void shareOfToken_dividesEachRepeatByTheMedianTokenRate() {
        ResultTable t = new ResultTable();
        t.add("BENCH\tserver=token\tscenario=token-ecdsa\tops_per_cpu_s=10000");
        t.add("BENCH\tserver=token\tscenario=token-ecdsa\tops_per_cpu_s=12000");
        t.add("BENCH\tserver=token\tscenario=token-ecdsa\tops_per_cpu_s=14000");
        t.add("BENCH\tserver=hsmtls\tscenario=hs13-ec\ths_per_cpu_s=6000");
        t.add("BENCH\tserver=hsmtls\tscenario=hs13-ec\ths_per_cpu_s=3000");
        t.addShareOfToken("hs13-ec", "token-ecdsa");
        assertEquals(List.of(0.5, 0.25), t.values("hs13-ec", "share_of_token", "hsmtls"));
    }

    @Test
    void malformedLines_areReportedNotFatal_otherLinesIgnored() {
        ResultTable t = new ResultTable();
        t.add("warm-up: 300 handshakes");
        t.add("BENCH\tserver=x\tscenario=y\ths_per_s=fast");
        t.add("BENCH\tscenario=y\ths_per_s=1");
        assertEquals(2, t.problems().size());
        assertTrue(t.problems().get(0).contains("hs_per_s is not a number (fast)"), t.problems().toString());
    }

    @Test
    void num_threeSignificantFiguresOrWholeNumbers() {
        assertEquals("2150", ResultTable.num(2150.4));
        assertEquals("12.3", ResultTable.num(12.34));
        assertEquals("1.23", ResultTable.num(1.234));
        assertEquals("0.123", ResultTable.num(0.1234));
        assertEquals("3", ResultTable.num(3.0));
    }

    @Test
    void machineAndTokenRows_getATableOfTheirOwn() {
        ResultTable t = new ResultTable();
        t.add("BENCH\tserver=machine\tscenario=aes-128-gcm\tmb_per_cpu_s=5125.9");
        t.add("BENCH\tserver=token\tscenario=token-ecdsa\tops_per_cpu_s=12600");
        t.add("BENCH\tserver=nginx\tscenario=hs13-ec\ths_per_cpu_s=2150");
        String[] parts = t.render().split("\n\n");
        assertEquals(2, parts.length, t.render());
        assertTrue(parts[0].contains("machine min/med/max") && parts[0].contains("token min/med/max")
                && !parts[0].contains("nginx"), parts[0]);
        assertTrue(parts[1].startsWith("scenario") && parts[1].contains("nginx min/med/max")
                && !parts[1].contains("token"), parts[1]);
    }

    @Test
    void ratio_pairsInterleavedRepeats_perServer_andShowsWithEchoLatency() {
        ResultTable t = new ResultTable();
        for (double[] r : new double[][] {{1000, 900, 1.5}, {800, 760, 2.5}}) {
            t.add("BENCH\tserver=hsmtls\tscenario=hs13-ec-echo\ths_per_s=" + r[0] + "\ths_per_cpu_s=" + r[0]
                    + "\techo_p99_ms=1");
            t.add("BENCH\tserver=hsmtls\tscenario=slow-token\ths_per_s=" + r[1] + "\ths_per_cpu_s=" + r[0]
                    + "\techo_p99_ms=" + r[2]);
        }
        t.add("BENCH\tserver=nginx\tscenario=hs13-ec-echo\ths_per_s=2000");
        t.addRatio("slow-token", "hs13-ec-echo");
        assertEquals(List.of(0.9, 0.95), t.values("slow-token", "ratio_hs_per_s", "hsmtls"));
        assertEquals(List.of(1.0, 1.0), t.values("slow-token", "ratio_hs_per_cpu_s", "hsmtls"));
        assertEquals(List.of(), t.values("slow-token", "ratio_hs_per_s", "nginx"), "no slow-token run for nginx");
        String out = t.render();
        assertTrue(out.matches("(?s).*slow-token\\s+ratio_hs_per_s\\s+0\\.900 / 0\\.925 / 0\\.950 \\(2\\).*"), out);
        assertTrue(out.matches("(?s).*slow-token\\s+echo_p99_ms\\s+1\\.50 / 2 / 2\\.50 \\(2\\).*"), out);
    }
}
