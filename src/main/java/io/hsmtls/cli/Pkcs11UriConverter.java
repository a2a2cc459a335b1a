package io.hsmtls.cli;

import io.hsmtls.token.InvalidUriException;
import io.hsmtls.token.Pkcs11Uri;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Parses {@code --key}/{@code --token} values into {@link Pkcs11Uri} once, at the edge. A
 * malformed URI is a usage error that quotes it; a URI carrying {@code pin-value} is refused,
 * because a PIN on a command line lands in shell history and in {@code ps} for every local user.
 */
public final class Pkcs11UriConverter implements ITypeConverter<Pkcs11Uri> {
    @Override
    public Pkcs11Uri convert(String value) {
        Pkcs11Uri uri;
        try {
            uri = Pkcs11Uri.parse(value);
        } catch (InvalidUriException e) {
            throw new TypeConversionException(e.getMessage());
        }
        if (uri.hasPinValue()) {
            throw new TypeConversionException("refusing PKCS#11 URI '" + uri + "' with pin-value: a PIN on the "
                    + "command line is visible in shell history and to every local user (ps); put the PIN in a "
                    + "file and use --pin-file FILE or pin-source=file:FILE, or use --pin-stdin or the prompt");
        }
        return uri;
    }
}
