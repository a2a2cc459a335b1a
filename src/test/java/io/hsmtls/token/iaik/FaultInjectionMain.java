package io.hsmtls.token.iaik;

import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.TokenException;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOperationException;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.TokenStats;
import io.hsmtls.token.TokenUnavailableException;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The child process of {@link TokenFaultInjectionTest}: a JVM whose environment points the
 * p11-kit client module at a p11-kit server (a JVM cannot change its own environment). Reads
 * commands on stdin ("sign", "stats", "quit") and answers one line each.
 */
public final class FaultInjectionMain {
    private FaultInjectionMain() {
    }

    public static void main(String[] args) throws Exception {
        Pkcs11Uri uri = Pkcs11Uri.parse(args[0]);
        IaikToken token = IaikTokens.open(TokenOptions.of(uri, null).withOpDeadline(Duration.ofMillis(1500))
                .withMaxSessions(2), n -> System.out.println("NOTICE " + n));
        token.enableAutoRecovery(Duration.ofMillis(200), Duration.ofMillis(800));
        TokenKey key = token.key(uri);
        System.out.println("READY");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            switch (line) {
                case "sign" -> {
                    long t0 = System.nanoTime();
                    try {
                        key.sign(SignatureScheme.ECDSA_SECP256R1_SHA256, new byte[] {1, 2, 3});
                        System.out.println("OK " + ms(t0));
                    } catch (TokenUnavailableException e) {
                        System.out.println("UNAVAILABLE " + e.reason() + " " + ms(t0) + " " + e.getMessage());
                    } catch (TokenOperationException e) {
                        System.out.println("FAILED " + e.ckrName() + " " + ms(t0) + " " + e.getMessage());
                    } catch (TokenException e) {
                        System.out.println("ERROR " + e.getClass().getSimpleName() + " " + ms(t0) + " " + e.getMessage());
                    }
                }
                case "stats" -> {
                    TokenStats s = token.stats();
                    System.out.println("STATS up=" + s.up() + " reinit=" + s.reinitializations() + " logins="
                            + s.userLogins() + " failures=" + s.failures());
                }
                case "quit" -> {
                    token.close();
                    System.out.println("BYE");
                    System.exit(0);
                }
                default -> System.out.println("?");
            }
        }
    }

    private static long ms(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }
}
