package io.hsmtls.tls.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code openssl s_server -Verify 1 -www} on an ephemeral port of 127.0.0.1, for tests. */
final class OpensslServer implements AutoCloseable {
    private static final Pattern ACCEPT = Pattern.compile("ACCEPT 127\\.0\\.0\\.1:(\\d+)");
    private final Process process;
    private final int port;
    private final StringBuffer output = new StringBuffer();

    OpensslServer(Path cert, Path key, Path clientCa, String versionFlag) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_server", "-accept", "127.0.0.1:0", "-cert",
                cert.toString(), "-key", key.toString(), "-Verify", "1", "-CAfile", clientCa.toString(), "-www",
                versionFlag));
        process = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<Integer> found = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                String line;
                while ((line = r.readLine()) != null) {
                    output.append(line).append('\n');
                    Matcher m = ACCEPT.matcher(line);
                    if (m.find()) {
                        found.complete(Integer.parseInt(m.group(1)));
                    }
                }
                found.completeExceptionally(new IOException("openssl s_server ended:\n" + output));
            } catch (IOException e) {
                found.completeExceptionally(e);
            }
        });
        try {
            port = found.get(20, TimeUnit.SECONDS);
        } catch (Exception e) {
            process.destroyForcibly();
            throw new IllegalStateException("openssl s_server did not start: " + output, e);
        }
    }

    int port() {
        return port;
    }

    String output() {
        return output.toString();
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
