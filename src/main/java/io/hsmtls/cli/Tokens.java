package io.hsmtls.cli;

import io.hsmtls.token.MechanismInfo;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenInfo;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.iaik.IaikTokens;
import io.hsmtls.token.iaik.ModuleResolver;
import java.nio.file.Path;
import java.util.List;

/**
 * The one place the CLI reaches the PKCS#11 implementation ({@code token.iaik}); commands see only
 * the {@code token} interfaces.
 */
public final class Tokens {
    private Tokens() {
    }

    /** Opens and logs in to the one token the options' URI selects; notices go to the log. */
    public static Token open(TokenOptions options) {
        return IaikTokens.open(options);
    }

    /**
     * Opens and logs in to the one token the options' URI selects. Notices for the person at the
     * terminal (PIN pad, PIN-file warnings) go to standard error.
     */
    public static Token open(Io io, TokenOptions options) {
        return IaikTokens.open(options, notice -> {
            io.err().println("hsmtls: " + notice);
            io.err().flush();
        });
    }

    /**
     * Like {@link #open(Io, TokenOptions)}, for commands that run until stopped (connect, serve):
     * after the token goes down (card pulled, link lost) it is re-initialised in the background,
     * first after 200 ms and then at doubling intervals up to 5 s, so the next connection works
     * again without a restart.
     */
    public static Token openRecovering(Io io, TokenOptions options) {
        var token = IaikTokens.open(options, notice -> {
            io.err().println("hsmtls: " + notice);
            io.err().flush();
        });
        token.enableAutoRecovery(java.time.Duration.ofMillis(200), java.time.Duration.ofSeconds(5));
        // Works, with a second module call per signature (the length query) and more JNI work.
        token.whyNotDirect().ifPresent(why -> {
            io.err().println("hsmtls: token '" + token.info().label() + "': private-key calls go through the"
                    + " wrapper's JNI (" + why + ")");
            io.err().flush();
        });
        return token;
    }

    /** Every slot of the module the options name, with its token, filtered by the URI (no login). */
    public static List<TokenInfo> list(TokenOptions options) {
        return IaikTokens.listTokens(options.uri(), options.module());
    }

    /**
     * The module file the options lead to (--module, the URI, $HSMTLS_PKCS11_MODULE, SoftHSM2).
     *
     * @throws io.hsmtls.token.ModuleLoadException naming every place tried
     */
    public static Path modulePath(TokenOptions options) {
        return ModuleResolver.resolve(options.uri(), options.module());
    }

    /** The one token the options' URI selects, without opening it or logging in. */
    public static TokenInfo find(TokenOptions options) {
        return IaikTokens.find(options.uri(), options.module());
    }

    /** The mechanisms of the one token the options select (no login). */
    public static List<MechanismInfo> mechanisms(TokenOptions options) {
        return IaikTokens.mechanisms(options.uri(), options.module());
    }

    /**
     * A token's state for metrics and health: counters from {@link Token#stats()}, and for a
     * PKCS#11 token its health (down since when, why) and the PIN-counter flags read now
     * (C_GetTokenInfo, skipped while the token is down so a hung token cannot hang a scrape).
     */
    static io.hsmtls.observe.Metrics.TokenState state(Token t) {
        io.hsmtls.token.TokenStats s = t.stats();
        java.time.Instant downSince = null;
        String reason = null;
        boolean low = false;
        boolean finalTry = false;
        if (t instanceof io.hsmtls.token.iaik.IaikToken i) {
            var h = i.health();
            downSince = h.downSince();
            reason = h.downDetail();
            if (downSince == null) {
                try {
                    var tries = i.currentInfo().pinTries();
                    low = tries == io.hsmtls.token.LoginFailedException.PinTries.COUNT_LOW;
                    finalTry = tries == io.hsmtls.token.LoginFailedException.PinTries.FINAL_TRY;
                } catch (RuntimeException e) {
                    // the token went away between the checks: the next scrape shows it down
                }
            }
        } else if (!s.up()) {
            downSince = java.time.Instant.EPOCH;
            reason = "down";
        }
        boolean up = s.up() && downSince == null;
        if (!up && downSince == null) {
            downSince = java.time.Instant.now();
        }
        return new io.hsmtls.observe.Metrics.TokenState(t.info().label(), up, downSince, reason, s.sessionsOpen(),
                s.sessionsInUse(), s.pending(), s.reinitializations(), low, finalTry);
    }
}
