package io.hsmtls.tls.bc;

import io.hsmtls.tls.CertificateRejectedException;
import io.hsmtls.tls.ChainValidator;
import io.hsmtls.tls.CipherSuite;
import io.hsmtls.tls.ClientAuthMode;
import io.hsmtls.tls.ClientIdentity;
import io.hsmtls.tls.SessionCache;
import io.hsmtls.tls.ServerSettings;
import io.hsmtls.tls.TlsVersion;
import io.hsmtls.tls.TokenTimer;
import io.hsmtls.token.KeyAlgorithm;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.TokenKey;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Vector;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.AlertLevel;
import org.bouncycastle.tls.Certificate;
import org.bouncycastle.tls.CertificateRequest;
import org.bouncycastle.tls.ClientCertificateType;
import org.bouncycastle.tls.DefaultTlsServer;
import org.bouncycastle.tls.KeyExchangeAlgorithm;
import org.bouncycastle.tls.NameType;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.ServerName;
import org.bouncycastle.tls.SessionParameters;
import org.bouncycastle.tls.SignatureAndHashAlgorithm;
import org.bouncycastle.tls.TlsCredentials;
import org.bouncycastle.tls.TlsExtensionsUtils;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsSession;
import org.bouncycastle.tls.TlsUtils;
import org.bouncycastle.tls.crypto.TlsCertificate;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCrypto;

/**
 * One handshake's Bouncy Castle {@code TlsServer}: our policy on top of BC's protocol engine.
 * Offers the profile's versions and the suites that fit the key; picks a signature scheme from
 * the client's list and what the token key can do (TLS 1.3 included, which
 * {@code DefaultTlsServer.getCredentials()} does not handle); asks for and validates client
 * certificates; resumes TLS 1.2 sessions only under the same SNI and client-auth policy.
 */
final class HsmTlsServer extends DefaultTlsServer {
    /**
     * The largest handshake message we buffer (Bouncy Castle's floor is 1 KiB). 32 KiB holds a
     * ClientHello with post-quantum key shares (~2 KiB) and a client Certificate message of a
     * ten-certificate chain; a peer that announces more gets a fatal alert before it sends it.
     */
    static final int MAX_HANDSHAKE_MESSAGE = 32 * 1024;
    /** Client certificate chains longer than this are refused (PKIX path building is not free). */
    static final int MAX_CLIENT_CHAIN = 10;

    private final ServerSettings settings;
    private final JcaTlsCrypto jca;
    private final SessionCache<TlsSession> cache;
    private final PreparedServer prepared;
    final TokenTimer timer;

    Optional<String> sni = Optional.empty();
    Optional<ClientIdentity> client = Optional.empty();
    boolean resumedFromCache;
    /** Set when the handshake completed (a close_notify in the same input may already have closed the protocol). */
    boolean completed;
    String alert = "none";
    boolean alertSent;
    String alertMessage;
    private byte[] resumedId;
    /** The credentials for this handshake: the default until the ClientHello's SNI picks another. */
    private io.hsmtls.tls.ServerCredentials selected;

    HsmTlsServer(JcaTlsCrypto crypto, ServerSettings settings, SessionCache<TlsSession> cache) {
        this(crypto, settings, cache, new TokenTimer(), new PreparedServer(crypto, settings));
    }

    HsmTlsServer(JcaTlsCrypto crypto, ServerSettings settings, SessionCache<TlsSession> cache, TokenTimer timer,
                 PreparedServer prepared) {
        super(crypto);
        this.prepared = prepared;
        this.timer = timer;
        this.jca = crypto;
        this.settings = settings;
        this.cache = cache;
        this.selected = settings.credentials();
    }

    // ---- limits, set here rather than left to Bouncy Castle's defaults ----------------------
    // Record sizes are fixed by the RFCs and enforced by Bouncy Castle's RecordStream: 2^14 bytes
    // of plaintext, 2^14+256 (TLS 1.3) or +2048 (TLS 1.2) of ciphertext; a larger record is a
    // record_overflow alert. A client's max_fragment_length (RFC 6066) may only lower that.

    @Override
    public int getMaxHandshakeMessageSize() {
        return MAX_HANDSHAKE_MESSAGE;
    }

    @Override
    public int getMaxCertificateChainLength() {
        return MAX_CLIENT_CHAIN;
    }

    /** No renegotiation (TLS 1.2): each one would cost a token operation on the client's say-so. */
    @Override
    public int getRenegotiationPolicy() {
        return org.bouncycastle.tls.RenegotiationPolicy.DENY;
    }

    private TokenKey key() {
        return selected.key();
    }

    @Override
    protected ProtocolVersion[] getSupportedVersions() {
        boolean v13 = settings.profile().allows(TlsVersion.TLS_1_3);
        boolean v12 = settings.profile().allows(TlsVersion.TLS_1_2);
        if (v13 && v12) {
            return ProtocolVersion.TLSv13.downTo(ProtocolVersion.TLSv12);
        }
        return v13 ? ProtocolVersion.TLSv13.only() : ProtocolVersion.TLSv12.only();
    }

    /** Exactly the groups {@code --print-profile} names; no finite-field DH, no x448. */
    @Override
    public int[] getSupportedGroups() {
        return new int[] {org.bouncycastle.tls.NamedGroup.x25519, org.bouncycastle.tls.NamedGroup.secp256r1,
            org.bouncycastle.tls.NamedGroup.secp384r1};
    }

    @Override
    protected int[] getSupportedCipherSuites() {
        // Before the ClientHello: offer what any of the listener's keys can do; isSelectableCipherSuite
        // narrows it to the key SNI picked.
        return prepared.suites();
    }

    @Override
    @SuppressWarnings("rawtypes") // Bouncy Castle's signature
    public void processClientExtensions(java.util.Hashtable clientExtensions) throws IOException {
        super.processClientExtensions(clientExtensions);
        Vector<?> names = TlsExtensionsUtils.getServerNameExtensionClient(clientExtensions);
        if (names != null) {
            for (Object o : names) {
                ServerName n = (ServerName) o;
                if (n.getNameType() == NameType.host_name) {
                    sni = Optional.of(new String(n.getNameData(), StandardCharsets.US_ASCII));
                    timer.sni(sni.get());
                }
            }
        }
        if (sni.isPresent()) {
            var byName = settings.sniCredentials().get(sni.get().toLowerCase(java.util.Locale.ROOT));
            if (byName != null) {
                selected = byName;
            } else if (settings.rejectUnknownSni()) {
                throw new TlsFatalAlert(AlertDescription.unrecognized_name,
                        "client asked for server name '" + sni.get() + "', which this listener does not serve");
            }
        }
    }

    @Override
    @SuppressWarnings("rawtypes") // Bouncy Castle's signature
    protected boolean isSelectableCipherSuite(int cipherSuite, int availCurveBits, int availFiniteFieldBits,
                                              Vector sigAlgs) {
        var ours = CipherSuite.ofCode(cipherSuite);
        return ours.isPresent() && settings.profile().suites(selected.algorithm()).contains(ours.get())
                && super.isSelectableCipherSuite(cipherSuite, availCurveBits, availFiniteFieldBits, sigAlgs);
    }

    // ---- credentials -------------------------------------------------------------------

    @Override
    public TlsCredentials getCredentials() throws IOException {
        ProtocolVersion v = context.getServerVersion();
        boolean tls13 = TlsUtils.isTLSv13(v);
        Certificate certificate = certificate(tls13);
        if (!tls13 && TlsUtils.getKeyExchangeAlgorithm(selectedCipherSuite) == KeyExchangeAlgorithm.RSA) {
            return new TokenRsaDecryptor(key(), certificate, jca, timer);
        }
        SignatureScheme scheme = chooseScheme(tls13);
        return new TokenSigner(key(), scheme, certificate, timer);
    }

    private SignatureScheme chooseScheme(boolean tls13) throws IOException {
        Vector<?> offered = context.getSecurityParametersHandshake().getClientSigAlgs();
        List<Integer> clientCodes = new ArrayList<>();
        if (offered != null) {
            for (Object o : offered) {
                clientCodes.add(org.bouncycastle.tls.SignatureScheme.from((SignatureAndHashAlgorithm) o));
            }
        }
        TlsVersion version = tls13 ? TlsVersion.TLS_1_3 : TlsVersion.TLS_1_2;
        for (SignatureScheme s : settings.profile().signatureSchemes(selected.algorithm(), version)) {
            if (key().signatureSchemes().contains(s) && clientCodes.contains(s.code())) {
                return s;
            }
        }
        throw new TlsFatalAlert(AlertDescription.handshake_failure, "no common signature scheme: client offers "
                + clientCodes.stream().map(c -> SignatureScheme.ofCode(c).map(SignatureScheme::tlsName)
                        .orElse(String.format("0x%04x", c))).toList()
                + ", key " + key().uri() + " can do " + key().signatureSchemes());
    }

    private Certificate certificate(boolean tls13) {
        return prepared.certificate(selected, tls13);
    }

    // ---- client certificates -------------------------------------------------------------

    @Override
    public CertificateRequest getCertificateRequest() throws IOException {
        if (settings.clientAuth() == ClientAuthMode.NONE) {
            return null;
        }
        Vector<X500Name> authorities = new Vector<>();
        for (var name : settings.clientValidator().orElseThrow().caNames()) {
            authorities.add(X500Name.getInstance(name.getEncoded()));
        }
        Vector<?> sigAlgs = TlsUtils.getDefaultSupportedSignatureAlgorithms(context);
        if (TlsUtils.isTLSv13(context)) {
            return new CertificateRequest(TlsUtils.EMPTY_BYTES, sigAlgs, null, authorities);
        }
        short[] types = {ClientCertificateType.ecdsa_sign, ClientCertificateType.rsa_sign};
        return new CertificateRequest(types, sigAlgs, authorities);
    }

    @Override
    public void notifyClientCertificate(Certificate clientCertificate) throws IOException {
        boolean tls13 = TlsUtils.isTLSv13(context);
        if (clientCertificate == null || clientCertificate.isEmpty()) {
            if (settings.clientAuth() == ClientAuthMode.REQUIRED) {
                throw new TlsFatalAlert(tls13 ? AlertDescription.certificate_required : AlertDescription.handshake_failure,
                        "client sent no certificate and client-auth is required");
            }
            return;
        }
        List<X509Certificate> chain = new ArrayList<>();
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            for (TlsCertificate c : clientCertificate.getCertificateList()) {
                chain.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(c.getEncoded())));
            }
        } catch (CertificateException e) {
            throw new TlsFatalAlert(AlertDescription.bad_certificate, "client certificate does not parse: " + e.getMessage(), e);
        }
        ChainValidator validator = settings.clientValidator().orElseThrow();
        try {
            validator.validate(chain);
        } catch (CertificateRejectedException e) {
            short alertCode = switch (e.reason()) {
                case EXPIRED, NOT_YET_VALID -> AlertDescription.certificate_expired;
                case UNKNOWN_CA -> AlertDescription.unknown_ca;
                case BAD_USAGE -> AlertDescription.unsupported_certificate;
                default -> AlertDescription.bad_certificate;
            };
            throw new TlsFatalAlert(alertCode, e.getMessage(), e);
        }
        client = Optional.of(ClientIdentity.of(chain.get(0)));
        timer.certificate(client.get().sha256());
    }

    // ---- TLS 1.2 session resumption --------------------------------------------------------

    @Override
    public TlsSession getSessionToResume(byte[] sessionID) {
        if (cache == null) {
            return null;
        }
        // SNI is known here: BC processes the ClientHello's extensions before asking.
        var entry = cache.lookup(sessionID, sni, prepared.policyKey(), settings.clientAuth());
        if (entry.isEmpty()) {
            return null;
        }
        resumedId = sessionID.clone();
        client = entry.get().client();
        return entry.get().session();
    }

    @Override
    public byte[] getNewSessionID() {
        return cache == null ? null : cache.newId();
    }

    @Override
    public void notifyHandshakeComplete() throws IOException {
        super.notifyHandshakeComplete();
        completed = true;
        resumedFromCache = context.getSecurityParametersConnection().isResumedSession();
        TlsSession session = context.getSession();
        if (cache != null && !resumedFromCache && session != null && session.isResumable()
                && !TlsUtils.isTLSv13(context)) {
            byte[] id = session.getSessionID();
            if (id != null && id.length > 0) {
                cache.put(id, session, sni, prepared.policyKey(), client);
            }
        }
    }

    // ---- alerts, for the connection log -------------------------------------------------

    @Override
    public void notifyAlertRaised(short level, short description, String message, Throwable cause) {
        if (level == AlertLevel.fatal && "none".equals(alert)) {
            alert = AlertDescription.getName(description);
            alertSent = true;
            alertMessage = reason(message, cause);
        }
    }

    @Override
    public void notifyAlertReceived(short level, short description) {
        if (level == AlertLevel.fatal && "none".equals(alert)) {
            alert = AlertDescription.getName(description);
            alertSent = false;
        }
    }

    org.bouncycastle.tls.SecurityParameters connectionParameters() {
        return context.getSecurityParametersConnection();
    }

    /**
     * The most specific reason: Bouncy Castle wraps our own alerts ("Failed to read record"), so
     * prefer the innermost message that came from our policy or the token.
     */
    static String reason(String message, Throwable cause) {
        String best = message;
        boolean ours = false;
        Throwable root = null;
        for (Throwable t = cause; t != null && t != t.getCause(); t = t.getCause()) {
            root = t;
            if (t.getMessage() != null && (t instanceof TlsFatalAlert || t instanceof io.hsmtls.token.TokenException
                    || t instanceof io.hsmtls.tls.CertificateRejectedException)) {
                best = t.getMessage();
                ours = true;
                if (!(t instanceof TlsFatalAlert)) {
                    break;
                }
            }
        }
        // Bouncy Castle reports a reset, a truncated record and a bug of ours alike as "Failed to read
        // record" (internal_error): name the underlying exception so the log tells them apart.
        if (!ours && root != null && !(root instanceof TlsFatalAlert)) {
            best = best + " (" + root.getClass().getSimpleName()
                    + (root.getMessage() != null ? ": " + root.getMessage() : "") + ")";
        }
        return best;
    }

    SessionParameters sessionParameters() {
        TlsSession s = context.getSession();
        return s == null ? null : s.exportSessionParameters();
    }

    boolean resumedId() {
        return resumedId != null;
    }
}
