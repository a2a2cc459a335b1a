package io.hsmtls.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.ChildJvm;
import io.hsmtls.testing.EchoServer;
import io.hsmtls.testing.P11KitServer;
import io.hsmtls.testing.SoftHsm;
import io.hsmtls.testing.TestPki;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.iaik.IaikTokens;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code hsmtls serve} (a child JVM) on SoftHSM behind p11-kit remoting, under a load of
 * handshakes and with a 16 MiB transfer in flight, while the test kills the {@code p11-kit-remote}
 * worker, then the p11-kit server, restarts it, and finally stops the worker with SIGSTOP. The
 * transfer never notices; new handshakes fail fast with an alert while the token is away and work
 * again within seconds of its return, without restarting hsmtls; every step is in the log.
 */
class ServeTokenOutageTest {
    static final int CHUNK = 64 * 1024;
    static final int CHUNKS = 256; // 16 MiB
    /** A failed handshake while the token is down or gone must end within this. */
    static final long FAST_MS = 2_000;
    /** serve's token call deadline (TokenOptions default) plus slack for a loaded 2-core machine. */
    static final long HUNG_MS = 5_000 + 2_500;

    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();

    private final List<AutoCloseable> cleanup = new CopyOnWriteArrayList<>();

    record Attempt(long start, long end, boolean ok, String error) {
        long ms() {
            return (end - start) / 1_000_000;
        }
    }

    @AfterEach
    void stop() {
        for (AutoCloseable c : cleanup.reversed()) {
            try {
                c.close();
            } catch (Exception ignored) {
                // best effort
            }
        }
    }

    @Test
    void workerKilled_serverKilledAndRestarted_workerHung_transferSurvives_handshakesFailFastThenRecover()
            throws Exception {
        TestPki.Ca ca = TestPki.ca("CN=Outage Root");
        try (Token t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true))) {
            TokenKey key = t.generateKeyPair(KeyType.EC_P256, "web", Optional.empty(), false);
            t.storeCertificate(key, ca.leaf("CN=localhost").publicKey(key.info().publicKey()).serverAuth().sign(), false);
        }
        P11KitServer p11 = P11KitServer.start(hsm, "serve");
        cleanup.add(p11);
        EchoServer echo = new EchoServer();
        cleanup.add(echo);
        ChildJvm serve = ChildJvm.start("io.hsmtls.cli.Main", p11.clientEnv(), "serve", "--listen", "127.0.0.1:0",
                "--backend", "127.0.0.1:" + echo.port(), "--key", p11.keyUri("web"));
        cleanup.add(serve);
        Matcher m = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) ")
                .matcher(serve.await(l -> l.contains("hsmtls: listening on"), 30, "listening line"));
        assertTrue(m.find());
        int port = Integer.parseInt(m.group(1));
        SSLContext tls13 = jsse(ca, "TLSv1.3");

        // The load: two clients doing full handshakes back to back.
        List<Attempt> attempts = new CopyOnWriteArrayList<>();
        AtomicBoolean load = new AtomicBoolean(true);
        List<Thread> loaders = List.of(1, 2).stream().map(i -> Thread.ofVirtual().name("load-" + i).start(() -> {
            while (load.get()) {
                attempts.add(handshake(tls13, port));
                sleep(30);
            }
        })).toList();

        // The transfer: 16 MiB echoed through serve; the test releases it chunk by chunk.
        byte[] data = new byte[CHUNK * CHUNKS];
        new Random(6).nextBytes(data);
        byte[] expected = MessageDigest.getInstance("SHA-256").digest(data);
        Semaphore release = new Semaphore(0);
        AtomicLong received = new AtomicLong();
        SSLSocket transfer = (SSLSocket) tls13.getSocketFactory().createSocket("localhost", port);
        cleanup.add(transfer);
        transfer.setSoTimeout(60_000);
        transfer.startHandshake();
        Thread.ofVirtual().name("transfer-writer").start(() -> {
            try {
                OutputStream out = transfer.getOutputStream();
                for (int i = 0; i < CHUNKS; i++) {
                    release.acquire();
                    out.write(data, i * CHUNK, CHUNK);
                    out.flush();
                }
            } catch (IOException | InterruptedException e) {
                // the reader's check reports it
            }
        });
        CompletableFuture<byte[]> digest = CompletableFuture.supplyAsync(() -> {
            try {
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                InputStream in = transfer.getInputStream();
                byte[] buf = new byte[CHUNK];
                while (received.get() < data.length) {
                    int n = in.read(buf);
                    if (n < 0) {
                        break;
                    }
                    md.update(buf, 0, n);
                    received.addAndGet(n);
                }
                return md.digest();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());

        await(() -> okSince(attempts, 0) >= 10, 30, "10 handshakes before any fault", serve);
        release.release(64);
        await(() -> received.get() >= 64L * CHUNK, 30, "first quarter of the transfer", serve);
        // A TLS 1.2 session to resume while the token is gone (resumption needs no private key).
        SSLContext tls12 = jsse(ca, "TLSv1.2");
        byte[] sessionId;
        try (SSLSocket s = (SSLSocket) tls12.getSocketFactory().createSocket("localhost", port)) {
            s.startHandshake();
            sessionId = s.getSession().getId();
        }

        // 1. Kill the worker: the next token call gets CKR_DEVICE_ERROR, the token is re-initialised by itself.
        long killWorker = System.nanoTime();
        long workerPid = p11.killWorker();
        serve.await(l -> l.contains("is down since") && l.contains("CKR_DEVICE_ERROR"), 20, "token down notice");
        serve.await(l -> l.contains("recovered (re-initialised, logged in again)"), 20, "token recovered notice");
        await(() -> okSince(attempts, killWorker) >= 5, 20, "handshakes after the worker restart", serve);
        assertTrue(p11.worker().pid() != workerPid, "the server started a new worker");

        // 2. Kill the server: the token is gone for 3 s. Handshakes fail fast with an alert; the
        // transfer goes on; the TLS 1.2 session still resumes.
        p11.kill();
        long gone = System.nanoTime();
        release.release(64);
        await(() -> received.get() >= 128L * CHUNK, 20, "second quarter of the transfer while the token is gone",
                serve);
        try (SSLSocket s = (SSLSocket) tls12.getSocketFactory().createSocket("localhost", port)) {
            s.setSoTimeout(10_000);
            s.startHandshake();
            assertArrayEquals(sessionId, s.getSession().getId(), "resumed while the token is gone");
        }
        sleep(3_000);
        long restart = System.nanoTime();
        List<Attempt> whileGone = between(attempts, gone + 300_000_000L, restart);
        assertTrue(whileGone.size() >= 4, "handshakes were tried while the token was gone: " + whileGone);
        for (Attempt a : whileGone) {
            assertTrue(!a.ok(), "no handshake can succeed without the token: " + a);
            assertTrue(a.ms() < FAST_MS, "fails fast: " + a);
            assertTrue(a.error().contains("internal_error"), "with an alert: " + a);
        }
        p11.restart();
        await(() -> okSince(attempts, restart) >= 1, 15, "a handshake within seconds of the restart", serve);
        long back = attempts.stream().filter(a -> a.ok() && a.start() > restart).mapToLong(Attempt::end).min()
                .orElseThrow();
        assertTrue(back - restart < TimeUnit.SECONDS.toNanos(10), "back " + (back - restart) / 1_000_000 + " ms after");

        // 3. The transfer completes, byte for byte.
        release.release(CHUNKS - 128);
        assertArrayEquals(expected, digest.get(30, TimeUnit.SECONDS), "SHA-256 of the 16 MiB echoed through serve");
        transfer.close();
        serve.await(l -> l.contains("in=" + data.length + " out=" + data.length), 10, "transfer's connection line");

        // 4. A hung token: SIGSTOP on the worker. An established connection keeps flowing; new
        // handshakes fail by the token deadline (with an alert) and then at once; SIGCONT brings it back.
        SSLSocket established = (SSLSocket) tls13.getSocketFactory().createSocket("localhost", port);
        cleanup.add(established);
        established.setSoTimeout(10_000);
        assertEquals("ping", roundTrip(established, "ping"));
        long hungPid = p11.worker().pid();
        P11KitServer.signal(hungPid, "STOP");
        long stopped = System.nanoTime();
        sleep(HUNG_MS + 1_000);
        assertEquals("still flowing", roundTrip(established, "still flowing"));
        long cont = System.nanoTime();
        List<Attempt> whileHung = attempts.stream().filter(a -> a.start() >= stopped && a.end() < cont).toList();
        assertTrue(whileHung.size() >= 3, "handshakes were tried while the token hung: " + whileHung);
        assertTrue(whileHung.stream().anyMatch(a -> a.ms() < FAST_MS),
                "once past the deadline the token is down and handshakes fail at once: " + whileHung);
        for (Attempt a : whileHung) {
            assertTrue(!a.ok(), "no handshake while hung: " + a);
            assertTrue(a.ms() < HUNG_MS, "fails by the deadline: " + a);
            assertTrue(a.error().contains("internal_error"), "with an alert: " + a);
        }
        P11KitServer.signal(hungPid, "CONT");
        await(() -> okSince(attempts, cont) >= 1, 20, "a handshake after SIGCONT", serve);
        assertEquals("after", roundTrip(established, "after"));
        established.close();
        load.set(false);
        for (Thread t : loaders) {
            t.join(20_000);
        }

        // 5. Every step is in the log, and hsmtls is the same process throughout.
        String log = serve.output();
        assertTrue(serve.process().isAlive(), log);
        assertTrue(log.contains("ran longer than 5000 ms"), "the hang is named: " + log);
        long recovered = serve.lines().stream().filter(l -> l.contains("recovered (re-initialised")).count();
        assertTrue(recovered >= 3, "three recoveries logged: " + log);
        assertTrue(serve.lines().stream().anyMatch(l -> l.contains("handshake failed: internal_error sent")
                && l.contains("unavailable (")), "failed handshakes name the token state: " + log);
        assertTrue(serve.lines().stream().anyMatch(l -> l.contains("resumed=true")), log);
        serve.terminate(20); // 143: the JVM's exit status after SIGTERM
        assertTrue(serve.output().contains("hsmtls: stopped on signal"), serve.output());
        System.out.println(summary(attempts));
    }

    private static Attempt handshake(SSLContext ctx, int port) {
        long t0 = System.nanoTime();
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("localhost", port)) {
            s.setSoTimeout(20_000);
            s.startHandshake();
            return new Attempt(t0, System.nanoTime(), true, "");
        } catch (IOException e) {
            return new Attempt(t0, System.nanoTime(), false, String.valueOf(e));
        }
    }

    private static String roundTrip(SSLSocket s, String text) throws IOException {
        byte[] b = text.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        s.getOutputStream().write(b);
        s.getOutputStream().flush();
        return new String(s.getInputStream().readNBytes(b.length), java.nio.charset.StandardCharsets.US_ASCII);
    }

    private static long okSince(List<Attempt> attempts, long since) {
        return attempts.stream().filter(a -> a.ok() && a.start() > since).count();
    }

    private static List<Attempt> between(List<Attempt> attempts, long from, long to) {
        return attempts.stream().filter(a -> a.start() >= from && a.start() < to).toList();
    }

    private static String summary(List<Attempt> attempts) {
        return attempts.size() + " handshakes, " + attempts.stream().filter(Attempt::ok).count() + " ok; failures: "
                + attempts.stream().filter(a -> !a.ok()).map(a -> a.ms() + "ms")
                .collect(Collectors.joining(" "));
    }

    private static void await(java.util.function.BooleanSupplier ok, int seconds, String what, ChildJvm serve)
            throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!ok.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("no " + what + " within " + seconds + " s; serve said:\n" + serve.output());
            }
            Thread.sleep(20);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static SSLContext jsse(TestPki.Ca ca, String version) throws Exception {
        KeyStore ts = KeyStore.getInstance("PKCS12");
        ts.load(null, null);
        ts.setCertificateEntry("ca", ca.certificate());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(ts);
        SSLContext ctx = SSLContext.getInstance(version);
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }
}
