package io.hsmtls.token.iaik;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.P11KitServer;
import io.hsmtls.testing.SoftHsm;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.TokenOptions;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A real token outage: hsmtls (in a child JVM) reaches SoftHSM through p11-kit remoting, and the
 * test kills or stops the {@code p11-kit-remote} worker by PID. The token layer must fail fast
 * while the token is gone, and come back by itself (C_Finalize/C_Initialize, new sessions, login,
 * key found again) without a restart.
 */
class TokenFaultInjectionTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();

    private P11KitServer p11;
    private Process child;
    private Writer childIn;
    private final BlockingQueue<String> childOut = new LinkedBlockingQueue<>();

    @AfterEach
    void stop() {
        if (child != null) {
            child.destroyForcibly();
        }
        if (p11 != null) {
            p11.close();
        }
    }

    @Test
    void workerKilled_hungWorker_serverRestart_eachFailsFastThenRecoversWithoutRestartingHsmtls() throws Exception {
        try (IaikToken admin = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true),
                m -> { })) {
            admin.generateKeyPair(KeyType.EC_P256, "outage", Optional.empty(), false);
        }
        p11 = P11KitServer.start(hsm, "token");
        String keyUri = p11.keyUri("outage");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", cp,
                FaultInjectionMain.class.getName(), keyUri).redirectErrorStream(true);
        pb.environment().putAll(p11.clientEnv());
        child = pb.start();
        childIn = new OutputStreamWriter(child.getOutputStream(), StandardCharsets.UTF_8);
        Thread.ofPlatform().daemon(true).start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                String l;
                while ((l = r.readLine()) != null) {
                    childOut.add(l);
                }
            } catch (IOException ignored) {
                // child gone
            }
        });
        expectLine("READY", 30);
        assertTrue(ask("sign").startsWith("OK"));

        // 1. Kill the worker that serves our connection: the next call fails, the token is marked down.
        p11.killWorker();
        String failed = ask("sign");
        assertTrue(failed.startsWith("FAILED CKR_DEVICE_ERROR"), failed);
        assertTrue(failed.contains("hsmtls marks it down and re-initialises it"), failed);
        long ms = Long.parseLong(failed.split(" ")[2]);
        assertTrue(ms < 1000, "fails fast: " + failed);

        // 2. It comes back by itself: auto recovery reconnects through the server, which starts a new worker.
        String ok = retryUntilOk(15);
        assertTrue(ok.startsWith("OK"), ok);
        String stats = ask("stats");
        assertTrue(stats.contains("up=true") && stats.contains("reinit=1") && stats.contains("logins=2"), stats);

        // 3. A hung worker: the call hits the deadline (1.5 s), later calls fail at once while it is down.
        ProcessHandle hung = p11.worker();
        P11KitServer.signal(hung.pid(), "STOP");
        String deadline = ask("sign");
        assertTrue(deadline.startsWith("UNAVAILABLE DEADLINE"), deadline);
        long dms = Long.parseLong(deadline.split(" ")[2]);
        assertTrue(dms >= 1400 && dms < 4000, "returned at the deadline: " + deadline);
        String fast = ask("sign");
        assertTrue(fast.startsWith("UNAVAILABLE DOWN"), fast);
        assertTrue(Long.parseLong(fast.split(" ")[2]) < 500, "fails fast while down: " + fast);
        // 4. Resume it (the stuck call completes), and the token recovers again.
        P11KitServer.signal(hung.pid(), "CONT");
        assertTrue(retryUntilOk(15).startsWith("OK"));
        assertTrue(ask("stats").contains("reinit=2"));

        // 5. The server itself dies: the token is gone until it is restarted; then hsmtls finds it again.
        p11.kill();
        String gone = ask("sign");
        assertTrue(gone.startsWith("FAILED CKR_") || gone.startsWith("UNAVAILABLE"), gone);
        Thread.sleep(1500);
        String absent = ask("sign");
        assertTrue(absent.startsWith("UNAVAILABLE NOT_PRESENT"), "still down while the server is away: " + absent);
        assertTrue(absent.contains("the token is not present"), absent);
        p11.restart();
        assertTrue(retryUntilOk(20).startsWith("OK"), "back after the server restart");

        childIn.write("quit\n");
        childIn.flush();
        expectLine("BYE", 10);
    }

    private String ask(String command) throws Exception {
        childIn.write(command + "\n");
        childIn.flush();
        while (true) {
            String l = childOut.poll(20, TimeUnit.SECONDS);
            if (l == null) {
                throw new AssertionError("no answer to " + command);
            }
            System.out.println(command + " -> " + l);
            if (!l.startsWith("NOTICE")) {
                return l;
            }
        }
    }

    private String retryUntilOk(int seconds) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        String last = null;
        while (System.nanoTime() < end) {
            last = ask("sign");
            if (last.startsWith("OK")) {
                return last;
            }
            Thread.sleep(200);
        }
        return "never recovered; last answer: " + last;
    }

    private void expectLine(String want, int seconds) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        List<String> seen = new ArrayList<>();
        while (System.nanoTime() < end) {
            String l = childOut.poll(200, TimeUnit.MILLISECONDS);
            if (l != null) {
                if (l.equals(want)) {
                    return;
                }
                seen.add(l);
            }
        }
        throw new AssertionError("child never said " + want + "; it said: " + seen);
    }
}
