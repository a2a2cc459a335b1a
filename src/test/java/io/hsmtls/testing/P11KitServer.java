package io.hsmtls.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * SoftHSM behind p11-kit remoting, for fault injection with real processes: {@code p11-kit server}
 * exports one SoftHSM token on a Unix socket and starts a {@code p11-kit-remote} worker for each
 * client connection. A process that loads {@link #CLIENT_MODULE} with {@link #clientEnv()} reaches
 * the token through it; killing the worker gives {@code CKR_DEVICE_ERROR}, killing the server makes
 * the token disappear until {@link #restart()}, {@code kill -STOP} on the worker gives a hung token.
 */
public final class P11KitServer implements AutoCloseable {
    public static final Path CLIENT_MODULE = Path.of("/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so");

    private final SoftHsm hsm;
    private final Path socket;
    private final Path log;
    private Process server;

    private P11KitServer(SoftHsm hsm, Path socket, Path log) {
        this.hsm = hsm;
        this.socket = socket;
        this.log = log;
    }

    /** Starts a server for the fixture's token; {@code name} keeps sockets of several tests apart. */
    public static P11KitServer start(SoftHsm hsm, String name) throws Exception {
        if (!Files.exists(CLIENT_MODULE) || !Files.isExecutable(Path.of("/usr/bin/p11-kit"))) {
            fail("p11-kit and its client module are needed: apt-get install p11-kit p11-kit-modules");
        }
        Path socket = hsm.workDir().resolve("p11-" + name + "-" + ProcessHandle.current().pid() + ".sock");
        P11KitServer s = new P11KitServer(hsm, socket, hsm.workDir().resolve("p11-" + name + ".log"));
        s.restart();
        return s;
    }

    /** The environment a client process needs (a JVM cannot change its own). */
    public Map<String, String> clientEnv() {
        return Map.of("P11_KIT_SERVER_ADDRESS", "unix:path=" + socket);
    }

    /** A key URI on the remoted token, with the fixture's PIN file. */
    public String keyUri(String object) {
        return "pkcs11:token=" + hsm.label() + ";object=" + object + "?module-path=" + CLIENT_MODULE
                + "&pin-source=file:" + hsm.pinFile();
    }

    public long serverPid() {
        return server.pid();
    }

    /** (Re)starts the server after {@link #kill()}; returns when its socket exists. */
    public synchronized void restart() throws Exception {
        if (server != null && server.isAlive()) {
            throw new IllegalStateException("p11-kit server still running");
        }
        Files.deleteIfExists(socket);
        server = new ProcessBuilder("p11-kit", "server", "-f", "--provider", SoftHsm.modulePath().toString(),
                "-n", socket.toString(), "pkcs11:token=" + hsm.label()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.exists(socket)) {
            if (System.nanoTime() > end || !server.isAlive()) {
                throw new AssertionError("p11-kit server socket " + socket + " did not appear; log " + log);
            }
            Thread.sleep(20);
        }
    }

    /** The p11-kit-remote worker serving the (single) client; waits up to 10 s for it. */
    public ProcessHandle worker() throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < end) {
            Optional<ProcessHandle> w = server.descendants().filter(ProcessHandle::isAlive).findFirst();
            if (w.isPresent()) {
                return w.get();
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no p11-kit-remote worker under the server");
    }

    /** Kills the worker by PID and waits for it to be gone; returns its PID. */
    public long killWorker() throws Exception {
        ProcessHandle w = worker();
        w.destroyForcibly();
        w.onExit().get(5, TimeUnit.SECONDS);
        return w.pid();
    }

    /** kill -SIGNAL PID (STOP, CONT). */
    public static void signal(long pid, String signal) throws Exception {
        assertEquals(0, new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).start().waitFor(),
                "kill -" + signal + " " + pid);
    }

    /** Kills the server and its workers; the token is gone until {@link #restart()}. */
    public synchronized void kill() throws Exception {
        server.descendants().forEach(ProcessHandle::destroyForcibly);
        server.destroyForcibly();
        server.onExit().get(5, TimeUnit.SECONDS);
    }

    @Override
    public synchronized void close() {
        if (server == null) {
            return;
        }
        server.descendants().forEach(d -> {
            try {
                // A stopped worker must run again to die; it may already be gone.
                new ProcessBuilder("kill", "-CONT", Long.toString(d.pid())).start().waitFor();
            } catch (IOException | InterruptedException ignored) {
                // already gone
            }
            d.destroyForcibly();
        });
        server.destroyForcibly();
    }
}
