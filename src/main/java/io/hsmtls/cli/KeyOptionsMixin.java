package io.hsmtls.cli;

import io.hsmtls.token.Pkcs11Uri;
import picocli.CommandLine.Option;

/**
 * {@code --key 'pkcs11:token=…;object=…'} (required) plus module and PIN options. Use with
 * {@code @Mixin KeyOptionsMixin key;} in any command that works on one key.
 */
public class KeyOptionsMixin extends TokenAccessOptions {
    @Option(names = "--key", required = true, paramLabel = "URI", converter = Pkcs11UriConverter.class,
            description = "the key, as an RFC 7512 PKCS#11 URI: 'pkcs11:token=LABEL;object=NAME"
                    + "?module-path=…&pin-source=file:…'")
    Pkcs11Uri key;

    @Override
    public Pkcs11Uri uri() {
        return key;
    }
}
