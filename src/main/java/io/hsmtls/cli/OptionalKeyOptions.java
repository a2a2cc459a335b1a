package io.hsmtls.cli;

import io.hsmtls.token.Pkcs11Uri;
import picocli.CommandLine.Option;

/** {@code --key URI} when a command can also run without a key ({@code probe}), plus module and PIN options. */
public class OptionalKeyOptions extends TokenAccessOptions {
    @Option(names = "--key", paramLabel = "URI", converter = Pkcs11UriConverter.class,
            description = "the client key (or a token, to choose among its certificates), as an RFC 7512 PKCS#11 URI")
    Pkcs11Uri key;

    @Override
    public Pkcs11Uri uri() {
        return key == null ? Pkcs11Uri.any() : key;
    }

    public boolean given() {
        return key != null;
    }
}
