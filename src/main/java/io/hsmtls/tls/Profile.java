package io.hsmtls.tls;

import io.hsmtls.token.KeyAlgorithm;
import io.hsmtls.token.SignatureScheme;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What a listener offers. {@code modern}: TLS 1.3 only. {@code compat} (the default): TLS 1.3 and
 * TLS 1.2 with ECDHE and AEAD suites. {@code legacy-rsa}: compat plus TLS 1.2 RSA key exchange,
 * which gives up forward secrecy and needs a token decrypt per handshake; named loudly because it
 * is for old clients only.
 */
public enum Profile {
    MODERN("modern", EnumSet.of(TlsVersion.TLS_1_3),
            "TLS 1.3 only; forward secrecy always; clients older than ~2018 cannot connect"),
    COMPAT("compat", EnumSet.of(TlsVersion.TLS_1_3, TlsVersion.TLS_1_2),
            "TLS 1.3, and TLS 1.2 with ECDHE key exchange and AEAD suites (the default)"),
    LEGACY_RSA("legacy-rsa", EnumSet.of(TlsVersion.TLS_1_3, TlsVersion.TLS_1_2),
            "compat plus TLS 1.2 RSA key exchange (no forward secrecy; the token decrypts each premaster)");

    private final String cliName;
    private final Set<TlsVersion> versions;
    private final String summary;

    Profile(String cliName, Set<TlsVersion> versions, String summary) {
        this.cliName = cliName;
        this.versions = versions;
        this.summary = summary;
    }

    public String cliName() {
        return cliName;
    }

    public Set<TlsVersion> versions() {
        return EnumSet.copyOf(versions);
    }

    public boolean allows(TlsVersion v) {
        return versions.contains(v);
    }

    public boolean rsaKeyExchange() {
        return this == LEGACY_RSA;
    }

    /** Suites offered for a key of this family, in preference order. */
    public List<CipherSuite> suites(KeyAlgorithm key) {
        List<CipherSuite> out = new ArrayList<>(List.of(CipherSuite.TLS_AES_128_GCM_SHA256,
                CipherSuite.TLS_AES_256_GCM_SHA384, CipherSuite.TLS_CHACHA20_POLY1305_SHA256));
        if (allows(TlsVersion.TLS_1_2)) {
            for (CipherSuite s : CipherSuite.values()) {
                if (s.kx() == CipherSuite.Kx.ECDHE_ECDSA && key != KeyAlgorithm.RSA
                        || s.kx() == CipherSuite.Kx.ECDHE_RSA && key == KeyAlgorithm.RSA
                        || s.kx() == CipherSuite.Kx.RSA && key == KeyAlgorithm.RSA && rsaKeyExchange()) {
                    out.add(s);
                }
            }
        }
        return out;
    }

    /** Signature schemes usable with this profile in each version, for a key family. */
    public List<SignatureScheme> signatureSchemes(KeyAlgorithm key, TlsVersion v) {
        List<SignatureScheme> out = new ArrayList<>();
        for (SignatureScheme s : SignatureScheme.values()) {
            if (s.keyAlgorithm() == key && allows(v) && (v == TlsVersion.TLS_1_2 || s.allowedInTls13())) {
                out.add(s);
            }
        }
        return out;
    }

    /** The text {@code hsmtls serve --print-profile NAME} shows. */
    public String describe() {
        StringBuilder b = new StringBuilder();
        b.append("profile ").append(cliName).append(": ").append(summary).append('\n');
        b.append("  versions: ").append(versions.stream().map(TlsVersion::display).collect(Collectors.joining(", ")))
                .append('\n');
        for (KeyAlgorithm k : KeyAlgorithm.values()) {
            b.append("  ").append(k.name()).append(" key:\n");
            b.append("    suites: ").append(suites(k).stream().map(Enum::name).collect(Collectors.joining(", ")))
                    .append('\n');
            for (TlsVersion v : versions) {
                b.append("    ").append(v.display()).append(" signature schemes: ")
                        .append(signatureSchemes(k, v).stream().map(SignatureScheme::tlsName)
                                .collect(Collectors.joining(", ")))
                        .append('\n');
            }
        }
        b.append("  groups: x25519, secp256r1, secp384r1\n");
        if (rsaKeyExchange()) {
            b.append("  RSA key exchange: premaster decrypted on the token (CKM_RSA_X_509, constant-time padding check)\n");
        }
        return b.toString();
    }

    public static Profile fromCliName(String name) {
        for (Profile p : values()) {
            if (p.cliName.equalsIgnoreCase(name) || p.name().equalsIgnoreCase(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown profile '" + name + "': use one of "
                + java.util.Arrays.stream(values()).map(Profile::cliName).collect(Collectors.joining(", ")));
    }

    @Override
    public String toString() {
        return cliName;
    }

    static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }
}
