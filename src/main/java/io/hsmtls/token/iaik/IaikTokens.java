package io.hsmtls.token.iaik;

import io.hsmtls.token.MechanismInfo;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenInfo;
import io.hsmtls.token.TokenNotFoundException;
import io.hsmtls.token.TokenOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.xipki.pkcs11.wrapper.Slot;

/**
 * Entry points of the token layer: open a token, list the tokens a module shows, list a token's
 * mechanisms. Everything else goes through the returned {@link Token}.
 */
public final class IaikTokens {
    private static final System.Logger LOG = System.getLogger("io.hsmtls.token");

    private IaikTokens() {
    }

    /**
     * Opens the one token the URI selects and logs in once (see {@link IaikToken}). Notices meant
     * for a person (e.g. "enter the PIN on the PIN pad") go to the log.
     */
    public static Token open(TokenOptions options) {
        return open(options, msg -> LOG.log(System.Logger.Level.INFO, msg));
    }

    /**
     * Like {@link #open(TokenOptions)}, with notices for the person at the terminal sent to
     * {@code notices} (PIN-pad prompts, the PIN-file warnings).
     */
    public static IaikToken open(TokenOptions options, Consumer<String> notices) {
        return IaikToken.open(options, notices);
    }

    /** Every slot the module shows, with its token if one is present, filtered by the URI's token attributes. No login. */
    public static List<TokenInfo> listTokens(Pkcs11Uri uri, Optional<Path> module) {
        SharedModule m = SharedModule.acquire(ModuleResolver.resolve(uri, module));
        try {
            List<TokenInfo> out = new ArrayList<>();
            if (Slots.libraryMismatch(m, uri) != null) {
                return List.of();
            }
            for (Slot slot : Slots.all(m)) {
                TokenInfo info = Slots.describe(slot);
                if (Slots.matches(uri, info, slot)) {
                    out.add(info);
                }
            }
            return List.copyOf(out);
        } finally {
            m.release();
        }
    }

    /** The mechanisms of the one token the URI selects (C_GetMechanismList/Info). No login. */
    public static List<MechanismInfo> mechanisms(Pkcs11Uri uri, Optional<Path> module) {
        SharedModule m = SharedModule.acquire(ModuleResolver.resolve(uri, module));
        try {
            Slot slot = Slots.find(m, uri);
            return Slots.mechanisms(m, slot.getSlotID());
        } finally {
            m.release();
        }
    }

    /** The one token the URI selects, without opening it. */
    public static TokenInfo find(Pkcs11Uri uri, Optional<Path> module) {
        SharedModule m = SharedModule.acquire(ModuleResolver.resolve(uri, module));
        try {
            return Slots.describe(Slots.find(m, uri));
        } finally {
            m.release();
        }
    }

    /**
     * C_Login(CKU_USER) calls made by this process so far, including failed ones. A failed open
     * leaves no Token to ask for {@link io.hsmtls.token.TokenStats#userLogins()}; this counter lets
     * tests and audits check that a wrong PIN was presented exactly once.
     */
    public static long userLoginAttempts() {
        return IaikToken.LOGIN_ATTEMPTS.sum();
    }

    static TokenNotFoundException notFound(Pkcs11Uri uri, List<TokenInfo> found, boolean ambiguous) {
        return new TokenNotFoundException(uri, found.stream().map(TokenInfo::describe).toList(), ambiguous);
    }
}
