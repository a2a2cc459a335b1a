package io.hsmtls.cli;

import io.hsmtls.token.MechanismInfo;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenInfo;
import io.hsmtls.token.TokenOptions;
import java.util.List;

/**
 * The one place the CLI reaches the PKCS#11 implementation ({@code token.iaik}); commands see only
 * the {@code token} interfaces.
 */
final class Tokens {
    private Tokens() {
    }

    /** Opens and logs in to the one token the options' URI selects. */
    static Token open(TokenOptions options) {
        return io.hsmtls.token.iaik.IaikTokens.open(options);
    }

    /** Every slot of the module the options name, with its token (no login). */
    static List<TokenInfo> list(TokenOptions options) {
        throw new UnsupportedOperationException("token implementation not merged yet");
    }

    /** The mechanisms of the one token the options select (no login). */
    static List<MechanismInfo> mechanisms(TokenOptions options) {
        throw new UnsupportedOperationException("token implementation not merged yet");
    }
}
