package io.hsmtls.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcStatTest {
    /** A real line from proc(5) layout: 52 fields, utime and stime are fields 14 and 15. */
    private static String statLine(long pid, String comm, long ppid, long utime, long stime) {
        return pid + " (" + comm + ") S " + ppid + " 100 100 0 -1 4194560 5000 0 0 0 " + utime + " " + stime
                + " 0 0 20 0 12 0 123456 987654321 2000 18446744073709551615 1 1 0 0 0 0 0 4096 17663 0 0 0 17 1 0 0 0 0 0\n";
    }

    @Test
    void parseStat_commWithSpacesAndParens_countsFieldsFromTheLastParen() {
        ProcStat.Stat s = ProcStat.parseStat(statLine(4242, "nginx: worker (x) 1", 4200, 1234, 567));
        assertEquals(4242, s.pid());
        assertEquals(4200, s.ppid());
        assertEquals(1234, s.utime());
        assertEquals(567, s.stime());
    }

    @Test
    void jitTicks_sumsOnlyTheCompilerThreads(@TempDir Path proc) throws IOException {
        Path tasks = proc.resolve("500/task");
        String[][] threads = {{"501", "java", "40", "10"}, {"502", "C2 CompilerThre", "300", "20"},
            {"503", "C1 CompilerThre", "50", "5"}, {"504", "ForkJoinPool-1-", "900", "90"}};
        for (String[] t : threads) {
            Files.createDirectories(tasks.resolve(t[0]));
            Files.writeString(tasks.resolve(t[0]).resolve("stat"),
                    statLine(Long.parseLong(t[0]), t[1], 1, Long.parseLong(t[2]), Long.parseLong(t[3])));
        }
        ProcStat ps = new ProcStat(proc, 100);
        assertEquals(375, ps.jitTicks(500));
        assertEquals(0, ps.jitTicks(999), "a process that is gone (or nginx, without compiler threads) has none");
        assertTrue(ProcStat.isJitThread(statLine(1, "C2 CompilerThre", 1, 0, 0)));
        assertTrue(!ProcStat.isJitThread(statLine(1, "C2 something (C1 CompilerThre)", 1, 0, 0)));
    }

    @Test
    void parseStat_truncatedLine_failsWithTheLine() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ProcStat.parseStat("12 (java) S 1 2 3"));
        assertTrue(e.getMessage().contains("12 (java)"), e.getMessage());
    }

    @Test
    void parseRss_readsKibAndTreatsMissingLineAsZero() {
        assertEquals(52160, ProcStat.parseRssKib("Name:\tnginx\nVmPeak:\t  60000 kB\nVmRSS:\t   52160 kB\nThreads: 1\n"));
        assertEquals(0, ProcStat.parseRssKib("Name:\tkthreadd\nState:\tS (sleeping)\n"));
    }

    @Test
    void sample_sumsCpuAndRssOverTheWholeTree_notSiblings(@TempDir Path proc) throws IOException {
        // master 100 with workers 101, 102; 103 is a grandchild; 200 is unrelated.
        fake(proc, 100, "nginx", 1, 10, 5, 4000);
        fake(proc, 101, "nginx", 100, 300, 100, 10000);
        fake(proc, 102, "nginx", 100, 200, 50, 12000);
        fake(proc, 103, "helper", 102, 7, 3, 1000);
        fake(proc, 200, "java", 1, 9999, 9999, 500000);
        ProcStat.Sample s = new ProcStat(proc, 100).sample(100);
        assertEquals(4, s.processes());
        assertEquals(10 + 5 + 300 + 100 + 200 + 50 + 7 + 3, s.cpuTicks());
        assertEquals(6.75, s.cpuSeconds(), 1e-9);
        assertEquals(4000 + 10000 + 12000 + 1000, s.rssKib());
    }

    @Test
    void sample_goneProcess_saysTheServerExited(@TempDir Path proc) throws IOException {
        fake(proc, 100, "java", 1, 1, 1, 1);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> new ProcStat(proc, 100).sample(7));
        assertTrue(e.getMessage().contains("process 7 not found"), e.getMessage());
    }

    @Test
    void sample_realProcFindsThisJvm() {
        ProcStat.Sample s = ProcStat.system().sample(ProcessHandle.current().pid());
        assertTrue(s.cpuTicks() > 0 && s.rssKib() > 10_000, s.toString());
        assertTrue(ProcStat.system().selfCpuSeconds() > 0);
    }

    private static void fake(Path proc, long pid, String comm, long ppid, long utime, long stime, long rss)
            throws IOException {
        Path d = Files.createDirectories(proc.resolve(Long.toString(pid)));
        Files.writeString(d.resolve("stat"), statLine(pid, comm, ppid, utime, stime));
        Files.writeString(d.resolve("status"), "Name:\t" + comm + "\nVmRSS:\t" + rss + " kB\n");
    }
}
