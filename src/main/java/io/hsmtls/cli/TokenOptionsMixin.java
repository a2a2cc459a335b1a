package io.hsmtls.cli;

import io.hsmtls.token.Pkcs11Uri;
import picocli.CommandLine.Option;

/**
 * {@code --token 'pkcs11:token=…'} (optional: default {@code pkcs11:}, every token) plus module
 * and PIN options. Use with {@code @Mixin TokenOptionsMixin token;} in commands that work on a
 * token rather than one key (listings).
 */
public class TokenOptionsMixin extends TokenAccessOptions {
    @Option(names = "--token", paramLabel = "URI", converter = Pkcs11UriConverter.class,
            description = "the token, as an RFC 7512 PKCS#11 URI, e.g. 'pkcs11:token=LABEL'; default: any")
    Pkcs11Uri token;

    @Override
    public Pkcs11Uri uri() {
        return token == null ? Pkcs11Uri.any() : token;
    }

    /** True when the user named a token (listings then show only that one). */
    public boolean given() {
        return token != null;
    }
}
