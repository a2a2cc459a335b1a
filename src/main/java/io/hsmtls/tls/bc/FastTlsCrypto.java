package io.hsmtls.tls.bc;

import java.io.IOException;
import java.math.BigInteger;
import java.security.SecureRandom;
import java.util.Arrays;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.crypto.AsymmetricCipherKeyPair;
import org.bouncycastle.crypto.agreement.ECDHBasicAgreement;
import org.bouncycastle.crypto.ec.CustomNamedCurves;
import org.bouncycastle.crypto.generators.ECKeyPairGenerator;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECKeyGenerationParameters;
import org.bouncycastle.crypto.params.ECPrivateKeyParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.jcajce.util.JcaJceHelper;
import org.bouncycastle.math.ec.rfc7748.X25519;
import org.bouncycastle.math.ec.rfc7748.X448;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.NamedGroup;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.crypto.TlsAgreement;
import org.bouncycastle.tls.crypto.TlsECConfig;
import org.bouncycastle.tls.crypto.TlsECDomain;
import org.bouncycastle.tls.crypto.TlsNonceGenerator;
import org.bouncycastle.tls.crypto.TlsSecret;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCrypto;
import org.bouncycastle.util.BigIntegers;

/**
 * {@link JcaTlsCrypto} with the ephemeral key exchange done by Bouncy Castle's own curve code, and
 * X25519 by OpenSSL's libcrypto where it loads ({@link OpensslX25519}: a third cheaper again).
 *
 * <p>Measured on JDK 25 (see the perf note in DESIGN.md): the JDK's X25519 and P-256 ECDH are the
 * largest part of a TLS 1.3 server handshake's CPU, and Bouncy Castle's {@code rfc7748} X25519 and
 * its fixed-point-comb secp256r1/secp384r1 code are 2–4× cheaper. Everything else — records
 * (AES-GCM), HMAC, HKDF, hashes — stays on the JDK providers, which are the faster ones there.
 * The shared secret goes back through {@link #createSecret(byte[])}, so it is an ordinary JCE
 * {@code TlsSecret} and the key schedule runs on the JDK's HMAC.
 *
 * <p>Peer values are checked as RFC 8446 §4.2.8.2 and RFC 7748 §6 ask: wrong lengths and points
 * not on the curve are {@code illegal_parameter}; an all-zero X25519/X448 result (a small-order
 * peer point) is {@code handshake_failure}, as in Bouncy Castle's own implementations.
 */
public final class FastTlsCrypto extends JdkTlsCrypto {
    private static final JcaJceHelper HELPER = new PreparedJcaHelper();

    /** One DRBG for every connection's public nonces (randoms, session IDs); null = BC's per connection. */
    private final SecureRandom sharedNonces;
    /** OpenSSL's X25519; null = Bouncy Castle's. */
    private final OpensslX25519 x25519;

    private FastTlsCrypto(JcaJceHelper helper, SecureRandom keys, SecureRandom nonces, boolean shareNonces,
            OpensslX25519 x25519) {
        super(helper, keys, nonces);
        this.sharedNonces = shareNonces ? nonces : null;
        this.x25519 = x25519;
    }

    /** A crypto for any number of connections (thread-safe, like {@code JcaTlsCrypto}). */
    public static FastTlsCrypto create() {
        return create(new SecureRandom());
    }

    /** With a given source for ephemeral keys (tests drive it with RFC vectors). */
    static FastTlsCrypto create(SecureRandom keys) {
        return create(keys, true);
    }

    static FastTlsCrypto create(SecureRandom keys, boolean shareNonces) {
        return create(keys, shareNonces, true);
    }

    /** With X25519 from OpenSSL where it loaded ({@code opensslX25519}), else from Bouncy Castle. */
    static FastTlsCrypto create(SecureRandom keys, boolean shareNonces, boolean opensslX25519) {
        return new FastTlsCrypto(HELPER, keys, nonceSource(), shareNonces,
                opensslX25519 ? OpensslX25519.instance().orElse(null) : null);
    }

    /**
     * Where this process's X25519 comes from, for the operator: "OpenSSL 3.0.17", or Bouncy
     * Castle's with the reason OpenSSL's is not used.
     */
    public static String x25519Implementation() {
        return OpensslX25519.instance().map(OpensslX25519::version)
                .orElseGet(() -> "Bouncy Castle (" + OpensslX25519.whyNot().orElse("") + ")");
    }

    private static SecureRandom nonceSource() {
        try {
            return SecureRandom.getInstance("DRBG");
        } catch (java.security.NoSuchAlgorithmException e) {
            return new SecureRandom();
        }
    }

    /**
     * Bouncy Castle builds a SHA-512 DRBG per connection for its nonces (≈5 µs each); these are
     * public values (hello randoms, session IDs), so one thread-safe DRBG, kept apart from the
     * one that makes private keys, serves all connections.
     */
    @Override
    public TlsNonceGenerator createNonceGenerator(byte[] additionalSeedMaterial) {
        if (sharedNonces == null) {
            return super.createNonceGenerator(additionalSeedMaterial);
        }
        return size -> {
            byte[] nonce = new byte[size];
            sharedNonces.nextBytes(nonce);
            return nonce;
        };
    }

    @Override
    public TlsECDomain createECDomain(TlsECConfig config) {
        int group = config.getNamedGroup();
        return switch (group) {
            case NamedGroup.x25519 -> x25519 != null ? () -> new OpensslXdh(this, x25519) : () -> new Xdh(this, false);
            case NamedGroup.x448 -> () -> new Xdh(this, true);
            case NamedGroup.secp256r1, NamedGroup.secp384r1, NamedGroup.secp521r1 -> {
                ECDomainParameters domain = Curves.of(group);
                yield () -> new Ecdh(this, domain);
            }
            default -> super.createECDomain(config);
        };
    }

    /** Domain parameters built once per curve, so the generator's precomputed table is shared. */
    private static final class Curves {
        private static final ECDomainParameters P256 = load("secp256r1");
        private static final ECDomainParameters P384 = load("secp384r1");
        private static final ECDomainParameters P521 = load("secp521r1");

        static ECDomainParameters of(int group) {
            return switch (group) {
                case NamedGroup.secp256r1 -> P256;
                case NamedGroup.secp384r1 -> P384;
                case NamedGroup.secp521r1 -> P521;
                default -> throw new IllegalArgumentException("not a NIST prime curve: " + NamedGroup.getText(group));
            };
        }

        private static ECDomainParameters load(String name) {
            X9ECParameters p = CustomNamedCurves.getByName(name);
            return new ECDomainParameters(p.getCurve(), p.getG(), p.getN(), p.getH(), p.getSeed());
        }
    }

    /** X25519 or X448 (RFC 7748) for one handshake. */
    private static final class Xdh implements TlsAgreement {
        private final FastTlsCrypto crypto;
        private final boolean x448;
        private final byte[] privateKey;
        private byte[] peer;

        Xdh(FastTlsCrypto crypto, boolean x448) {
            this.crypto = crypto;
            this.x448 = x448;
            this.privateKey = new byte[x448 ? X448.SCALAR_SIZE : X25519.SCALAR_SIZE];
        }

        @Override
        public byte[] generateEphemeral() {
            byte[] pub;
            if (x448) {
                X448.generatePrivateKey(crypto.getSecureRandom(), privateKey);
                pub = new byte[X448.POINT_SIZE];
                X448.generatePublicKey(privateKey, 0, pub, 0);
            } else {
                X25519.generatePrivateKey(crypto.getSecureRandom(), privateKey);
                pub = new byte[X25519.POINT_SIZE];
                X25519.generatePublicKey(privateKey, 0, pub, 0);
            }
            return pub;
        }

        @Override
        public void receivePeerValue(byte[] value) throws IOException {
            peer = checkedPeerValue(value, x448);
        }

        @Override
        public TlsSecret calculateSecret() throws IOException {
            byte[] secret = new byte[x448 ? X448.POINT_SIZE : X25519.POINT_SIZE];
            try {
                boolean ok = x448 ? X448.calculateAgreement(privateKey, 0, peer, 0, secret, 0)
                        : X25519.calculateAgreement(privateKey, 0, peer, 0, secret, 0);
                if (!ok) {
                    throw smallOrder();
                }
                return crypto.createSecret(secret);
            } finally {
                Arrays.fill(privateKey, (byte) 0);
                Arrays.fill(secret, (byte) 0);
            }
        }
    }

    /** An X25519/X448 key share of the wrong length is illegal_parameter (RFC 8446 §4.2.8.2). */
    private static byte[] checkedPeerValue(byte[] value, boolean x448) throws TlsFatalAlert {
        int size = x448 ? X448.POINT_SIZE : X25519.POINT_SIZE;
        if (value == null || value.length != size) {
            throw new TlsFatalAlert(AlertDescription.illegal_parameter,
                    "key share of " + (value == null ? "no" : value.length) + " bytes for "
                            + (x448 ? "x448" : "x25519") + ": must be " + size);
        }
        return value.clone();
    }

    /** An all-zero X25519/X448 result (RFC 7748 §6.1, RFC 8446 §7.4.2). */
    private static TlsFatalAlert smallOrder() {
        return new TlsFatalAlert(AlertDescription.handshake_failure,
                "peer key share is a small-order point: the shared secret is zero");
    }

    /**
     * X25519 with OpenSSL's libcrypto for one handshake: the key pair lives there from
     * {@link #generateEphemeral} to {@link #calculateSecret}, which frees it.
     */
    private static final class OpensslXdh implements TlsAgreement {
        private final FastTlsCrypto crypto;
        private final OpensslX25519 x25519;
        private OpensslX25519.KeyPair keys;
        private byte[] peer;

        OpensslXdh(FastTlsCrypto crypto, OpensslX25519 x25519) {
            this.crypto = crypto;
            this.x25519 = x25519;
        }

        @Override
        public byte[] generateEphemeral() {
            keys = x25519.generate(crypto.getSecureRandom());
            return keys.publicKey();
        }

        @Override
        public void receivePeerValue(byte[] value) throws IOException {
            peer = checkedPeerValue(value, false);
        }

        @Override
        public TlsSecret calculateSecret() throws IOException {
            byte[] secret = null;
            try {
                secret = keys.agree(peer);
                if (secret == null) {
                    throw smallOrder();
                }
                return crypto.createSecret(secret);
            } finally {
                keys.close();
                if (secret != null) {
                    Arrays.fill(secret, (byte) 0);
                }
            }
        }
    }

    /** ECDH on a NIST prime curve (RFC 8422 §5.10, RFC 8446 §7.4.2) for one handshake. */
    private static final class Ecdh implements TlsAgreement {
        private final FastTlsCrypto crypto;
        private final ECDomainParameters domain;
        private ECPrivateKeyParameters privateKey;
        private ECPublicKeyParameters peer;

        Ecdh(FastTlsCrypto crypto, ECDomainParameters domain) {
            this.crypto = crypto;
            this.domain = domain;
        }

        @Override
        public byte[] generateEphemeral() {
            ECKeyPairGenerator generator = new ECKeyPairGenerator();
            generator.init(new ECKeyGenerationParameters(domain, crypto.getSecureRandom()));
            AsymmetricCipherKeyPair pair = generator.generateKeyPair();
            privateKey = (ECPrivateKeyParameters) pair.getPrivate();
            return ((ECPublicKeyParameters) pair.getPublic()).getQ().getEncoded(false);
        }

        @Override
        public void receivePeerValue(byte[] value) throws IOException {
            try {
                // decodePoint checks the point is on the curve; the constructor rejects infinity.
                peer = new ECPublicKeyParameters(domain.getCurve().decodePoint(value), domain);
            } catch (RuntimeException e) {
                throw new TlsFatalAlert(AlertDescription.illegal_parameter,
                        "peer key share is not a point on " + domain.getCurve().getFieldSize() + "-bit curve", e);
            }
        }

        @Override
        public TlsSecret calculateSecret() throws IOException {
            ECDHBasicAgreement agreement = new ECDHBasicAgreement();
            agreement.init(privateKey);
            byte[] secret = null;
            try {
                BigInteger z = agreement.calculateAgreement(peer);
                // RFC 8422 §5.10: the x-coordinate at full field length, leading zeros kept.
                secret = BigIntegers.asUnsignedByteArray(agreement.getFieldSize(), z);
                return crypto.createSecret(secret);
            } catch (IllegalStateException e) {
                throw new TlsFatalAlert(AlertDescription.handshake_failure, "ECDH result is the point at infinity", e);
            } finally {
                privateKey = null;
                if (secret != null) {
                    Arrays.fill(secret, (byte) 0);
                }
            }
        }
    }
}
