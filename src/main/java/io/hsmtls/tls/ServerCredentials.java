package io.hsmtls.tls;

import io.hsmtls.token.KeyAlgorithm;
import io.hsmtls.token.Mechanism;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.TokenKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A token key and the certificate chain (leaf first) a server presents with it, checked once
 * before the port opens: the leaf's public key is the token key's, and the token and key can do
 * what the profile needs. Each failure names what is missing.
 */
public record ServerCredentials(TokenKey key, List<X509Certificate> chain) {
    public ServerCredentials {
        chain = List.copyOf(chain);
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("certificate chain is empty: give --cert or store a certificate "
                    + "with the key's CKA_ID on the token");
        }
    }

    public X509Certificate leaf() {
        return chain.get(0);
    }

    public KeyAlgorithm algorithm() {
        return key.info().algorithm();
    }

    /**
     * Checks the pair against a profile.
     *
     * @throws CredentialsException listing every problem found
     */
    public static ServerCredentials checked(TokenKey key, List<X509Certificate> chain, Profile profile) {
        List<String> problems = new ArrayList<>();
        String who = "key " + key.uri() + " (" + key.info().describe() + ")";
        if (chain.isEmpty()) {
            throw new CredentialsException(who, List.of("no certificate: the token has none with the key's CKA_ID; "
                    + "give --cert chain.pem"));
        }
        X509Certificate leaf = chain.get(0);
        if (key.info().publicKey() == null
                || !Arrays.equals(leaf.getPublicKey().getEncoded(), key.info().publicKey().getEncoded())) {
            problems.add("certificate " + ChainValidator.describe(leaf)
                    + " has a different public key than the token key: use the certificate issued for this key");
        }
        if (!key.info().canSign()) {
            problems.add("the key does not allow signing (CKA_SIGN false): TLS needs it for every handshake");
        }
        boolean[] ku = leaf.getKeyUsage();
        if (ku != null && !ku[0]) {
            problems.add("certificate key usage lacks digitalSignature: clients will refuse its signatures");
        }
        Set<SignatureScheme> have = key.signatureSchemes();
        for (TlsVersion v : profile.versions()) {
            List<SignatureScheme> need = profile.signatureSchemes(key.info().algorithm(), v);
            if (need.stream().noneMatch(have::contains)) {
                Set<Mechanism> mechs = need.stream().map(SignatureScheme::mechanism).collect(Collectors.toSet());
                problems.add(v.display() + " (profile " + profile.cliName() + ") needs one of "
                        + need.stream().map(SignatureScheme::tlsName).toList() + " (mechanism " + mechs
                        + "); the token and key allow " + have.stream().map(SignatureScheme::tlsName).sorted().toList()
                        + (key.info().algorithm() == KeyAlgorithm.RSA && v == TlsVersion.TLS_1_3
                                ? ": TLS 1.3 with RSA needs CKM_RSA_PKCS_PSS" : "")
                        + ", or choose another profile/key");
            }
        }
        if (profile.rsaKeyExchange() && key.info().algorithm() == KeyAlgorithm.RSA && !key.canDecryptRsa()) {
            problems.add("profile legacy-rsa needs RSA decryption on the token (CKA_DECRYPT and CKM_RSA_X_509 or "
                    + "CKM_RSA_PKCS): the key or token lacks it; use profile compat or a key with CKA_DECRYPT");
        }
        if (profile.rsaKeyExchange() && key.info().algorithm() != KeyAlgorithm.RSA) {
            problems.add("profile legacy-rsa adds RSA key exchange, which needs an RSA key; this key is "
                    + key.info().algorithm() + ": use profile compat");
        }
        if (!problems.isEmpty()) {
            throw new CredentialsException(who, problems);
        }
        return new ServerCredentials(key, chain);
    }

    @Override
    public String toString() {
        return "ServerCredentials[" + key.uri() + ", " + ChainValidator.describe(leaf()) + "]";
    }
}
