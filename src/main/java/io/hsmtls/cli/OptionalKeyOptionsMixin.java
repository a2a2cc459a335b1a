package io.hsmtls.cli;

import io.hsmtls.token.Pkcs11Uri;
import java.util.Optional;
import picocli.CommandLine.Option;

/**
 * Like {@link KeyOptionsMixin}, but {@code --key} may be left out (e.g. {@code probe} without a
 * client certificate). Check {@link #given()} before {@link #tokenOptions(boolean)}.
 */
public class OptionalKeyOptionsMixin extends TokenAccessOptions {
    @Option(names = "--key", paramLabel = "URI", converter = Pkcs11UriConverter.class,
            description = "the key, as an RFC 7512 PKCS#11 URI: 'pkcs11:token=LABEL;object=NAME"
                    + "?module-path=…&pin-source=file:…'")
    Pkcs11Uri key;

    public boolean given() {
        return key != null;
    }

    public Optional<Pkcs11Uri> key() {
        return Optional.ofNullable(key);
    }

    /** @throws IllegalStateException when no --key was given: check {@link #given()} first */
    @Override
    public Pkcs11Uri uri() {
        if (key == null) {
            throw new IllegalStateException("no --key given; check given() first");
        }
        return key;
    }
}
