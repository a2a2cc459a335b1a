package io.hsmtls.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.Security;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * The Java baseline of the benchmark: a plain SunJSSE TLS-terminating proxy whose key is on the
 * same SoftHSM token, reached through the JDK's SunPKCS11 provider and its PKCS11 KeyStore. Thread
 * per direction per connection (platform threads by default), as a classic Java server does it.
 * JDK only, so scripts/bench.sh runs it from target/test-classes without any other jar.
 *
 * <pre>
 * java -cp target/test-classes io.hsmtls.bench.SunJsseBaselineServer --listen 127.0.0.1:0 \
 *     --backend 127.0.0.1:9000 --library /usr/lib/softhsm/libsofthsm2.so --slot-index 0 \
 *     --pin-file user.pin --alias ec [--threads platform|virtual] [--max-connections 30000]
 * </pre>
 * Prints {@code listening HOST:PORT} when ready. For the benchmark only: it re-enables TLS_RSA_*
 * key exchange and turns TLS 1.2 session tickets off (so resumption uses session IDs) in its own JVM.
 */
public final class SunJsseBaselineServer {
    private SunJsseBaselineServer() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = parse(args);
        // Before JSSE reads them: session IDs rather than tickets; RSA key exchange allowed.
        System.setProperty("jdk.tls.server.enableSessionTicketExtension", "false");
        String disabled = Security.getProperty("jdk.tls.disabledAlgorithms");
        if (disabled != null) {
            Security.setProperty("jdk.tls.disabledAlgorithms",
                    disabled.replaceAll("TLS_RSA_\\*\\s*,?", "").replaceAll(",\\s*$", ""));
        }

        Provider p11 = Security.getProvider("SunPKCS11").configure("--name=bench\nlibrary=" + opt.get("library")
                + "\nslotListIndex=" + opt.getOrDefault("slot-index", "0") + "\n");
        Security.addProvider(p11);
        char[] pin = Files.readString(Path.of(opt.get("pin-file")), StandardCharsets.UTF_8).strip().toCharArray();
        KeyStore ks = KeyStore.getInstance("PKCS11", p11);
        ks.load(null, pin);
        Arrays.fill(pin, '\0');
        String alias = opt.get("alias");
        PrivateKey key = (PrivateKey) ks.getKey(alias, null);
        Certificate[] chain = ks.getCertificateChain(alias);
        if (key == null || chain == null) {
            throw new IllegalStateException("no key entry '" + alias + "' on the token (aliases: "
                    + Collections.list(ks.aliases()) + "): store a certificate with the key's CKA_ID and label");
        }
        X509Certificate[] x509 = Arrays.copyOf(chain, chain.length, X509Certificate[].class);

        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(new KeyManager[] {new OneKey(alias, key, x509)}, null, null);
        SSLServerSocket server = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket();
        server.setReuseAddress(true);
        SSLParameters params = server.getSSLParameters();
        params.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
        List<String> suites = new ArrayList<>(Arrays.asList(params.getCipherSuites()));
        for (String s : List.of("TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_GCM_SHA384")) {
            if (!suites.contains(s)) {
                suites.add(s);
            }
        }
        params.setCipherSuites(suites.toArray(String[]::new));
        server.setSSLParameters(params);
        server.bind(hostPort(opt.getOrDefault("listen", "127.0.0.1:0")), 4096);
        InetSocketAddress backend = hostPort(opt.get("backend"));
        boolean virtual = "virtual".equals(opt.getOrDefault("threads", "platform"));
        Semaphore slots = new Semaphore(Integer.parseInt(opt.getOrDefault("max-connections", "30000")));
        System.out.println("listening " + server.getInetAddress().getHostAddress() + ":" + server.getLocalPort());
        System.out.flush();

        while (!server.isClosed()) {
            SSLSocket client = (SSLSocket) server.accept();
            if (!slots.tryAcquire()) {
                client.close();
                continue;
            }
            Runnable conn = () -> {
                try {
                    serve(client, backend, virtual);
                } finally {
                    slots.release();
                }
            };
            (virtual ? Thread.ofVirtual() : Thread.ofPlatform().daemon(true)).start(conn);
        }
    }

    /** Handshake, connect the backend, pump both ways until both sides are done. */
    private static void serve(SSLSocket client, InetSocketAddress backendAddress, boolean virtual) {
        try (client; Socket backend = new Socket()) {
            client.setTcpNoDelay(true);
            client.startHandshake();
            backend.setTcpNoDelay(true);
            backend.connect(backendAddress, 5000);
            Thread back = (virtual ? Thread.ofVirtual() : Thread.ofPlatform().daemon(true)).start(() -> {
                pump(backend, client);
            });
            pump(client, backend);
            back.join(30_000);
        } catch (IOException e) {
            // a failed handshake or a reset connection: the load generator counts it
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void pump(Socket from, Socket to) {
        byte[] buf = new byte[16 * 1024];
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
            }
            if (to instanceof SSLSocket) {
                to.close(); // TLS 1.2 has no half-close: close_notify ends the connection
            } else {
                to.shutdownOutput();
            }
        } catch (SocketException e) {
            closeQuietly(to);
        } catch (IOException e) {
            closeQuietly(to);
            closeQuietly(from);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    /** Serves exactly one key entry, whatever the keystore holds. */
    private static final class OneKey extends X509ExtendedKeyManager {
        private final String alias;
        private final PrivateKey key;
        private final X509Certificate[] chain;

        OneKey(String alias, PrivateKey key, X509Certificate[] chain) {
            this.alias = alias;
            this.key = key;
            this.chain = chain;
        }

        private String match(String keyType) {
            // JSSE asks by key algorithm ("EC", "RSA"); TLS 1.2 ECDH suites add a signer, e.g. "EC_EC".
            return keyType != null && (keyType.equals(key.getAlgorithm()) || keyType.startsWith(key.getAlgorithm() + "_"))
                    ? alias : null;
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return match(keyType);
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return match(keyType);
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            String a = match(keyType);
            return a == null ? null : new String[] {a};
        }

        @Override
        public X509Certificate[] getCertificateChain(String a) {
            return alias.equals(a) ? chain.clone() : null;
        }

        @Override
        public PrivateKey getPrivateKey(String a) {
            return alias.equals(a) ? key : null;
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return null;
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return null;
        }
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("argument '" + args[i] + "': expected --name value pairs");
            }
            m.put(args[i].substring(2), args[i + 1]);
        }
        for (String required : List.of("backend", "library", "pin-file", "alias")) {
            if (!m.containsKey(required)) {
                throw new IllegalArgumentException("missing --" + required + " (see the class comment for usage)");
            }
        }
        return m;
    }

    private static InetSocketAddress hostPort(String s) {
        int colon = s.lastIndexOf(':');
        return new InetSocketAddress(s.substring(0, colon), Integer.parseInt(s.substring(colon + 1)));
    }
}
