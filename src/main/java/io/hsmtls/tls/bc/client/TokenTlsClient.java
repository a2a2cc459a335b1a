package io.hsmtls.tls.bc.client;

import io.hsmtls.tls.CipherSuite;
import io.hsmtls.tls.ClientIdentity;
import io.hsmtls.tls.TlsVersion;
import io.hsmtls.tls.TokenTimer;
import io.hsmtls.tls.bc.TokenSigner;
import io.hsmtls.tls.client.AmbiguousClientCertificateException;
import io.hsmtls.tls.client.CertificateRequestInfo;
import io.hsmtls.tls.client.CertificateSelection;
import io.hsmtls.tls.client.ClientCandidate;
import io.hsmtls.tls.client.ClientCertificateSelector;
import io.hsmtls.tls.client.ClientSettings;
import io.hsmtls.tls.client.HandshakeRecorder;
import io.hsmtls.tls.client.HostNames;
import io.hsmtls.tls.client.ProbeStep;
import io.hsmtls.tls.client.RecordingTokenKey;
import io.hsmtls.tls.client.ServerCertificateException;
import io.hsmtls.token.KeyAlgorithm;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Hashtable;
import java.util.List;
import java.util.Set;
import java.util.Vector;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.AlertLevel;
import org.bouncycastle.tls.Certificate;
import org.bouncycastle.tls.CertificateEntry;
import org.bouncycastle.tls.CertificateRequest;
import org.bouncycastle.tls.ClientCertificateType;
import org.bouncycastle.tls.DefaultTlsClient;
import org.bouncycastle.tls.NameType;
import org.bouncycastle.tls.NamedGroup;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.ServerName;
import org.bouncycastle.tls.SignatureAndHashAlgorithm;
import org.bouncycastle.tls.TlsAuthentication;
import org.bouncycastle.tls.TlsCredentials;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsServerCertificate;
import org.bouncycastle.tls.TlsUtils;
import org.bouncycastle.tls.crypto.TlsCertificate;
import org.bouncycastle.tls.crypto.TlsCrypto;

/**
 * A Bouncy Castle client for one handshake: offers only the versions {@link ClientSettings} allow
 * and AEAD suites, validates the server with {@link io.hsmtls.tls.client.ServerVerifier}, answers a
 * CertificateRequest with the token key {@link ClientCertificateSelector} picks (signing through
 * {@link TokenSigner}), and tells the {@link HandshakeRecorder} about each step as it happens.
 * Bouncy Castle verifies the server's CertificateVerify/ServerKeyExchange signature itself; the
 * chain and the name are ours to check.
 */
public final class TokenTlsClient extends DefaultTlsClient {
    private final ClientSettings settings;
    private final HandshakeRecorder recorder;
    private final TokenTimer timer;
    private ServerCertificateException serverRejection;
    private RuntimeException selectionFailure;

    public TokenTlsClient(TlsCrypto crypto, ClientSettings settings, HandshakeRecorder recorder) {
        this(crypto, settings, recorder, null);
    }

    /** With a timer that reports the client signature (audit log); null for none. */
    public TokenTlsClient(TlsCrypto crypto, ClientSettings settings, HandshakeRecorder recorder, TokenTimer timer) {
        super(crypto);
        this.settings = settings;
        this.recorder = recorder;
        this.timer = timer;
    }

    /** Why the server's certificate was refused, if that is what ended the handshake. */
    public ServerCertificateException serverRejection() {
        return serverRejection;
    }

    /** A client-certificate selection error (several suitable certificates), if that ended the handshake. */
    public RuntimeException selectionFailure() {
        return selectionFailure;
    }

    @Override
    public ProtocolVersion[] getProtocolVersions() {
        // Highest first, as RFC 8446 §4.2.1 supported_versions lists them by preference.
        List<ProtocolVersion> v = new ArrayList<>();
        if (settings.versions().contains(TlsVersion.TLS_1_3)) v.add(ProtocolVersion.TLSv13);
        if (settings.versions().contains(TlsVersion.TLS_1_2)) v.add(ProtocolVersion.TLSv12);
        return v.toArray(new ProtocolVersion[0]);
    }

    @Override
    protected int[] getSupportedCipherSuites() {
        List<Integer> codes = new ArrayList<>();
        for (CipherSuite s : CipherSuite.values()) {
            // Forward-secret AEAD only: the client has no reason to offer RSA key exchange.
            if (settings.versions().contains(s.version()) && s.kx() != CipherSuite.Kx.RSA) {
                codes.add(s.code());
            }
        }
        return TlsUtils.getSupportedCipherSuites(getCrypto(), codes.stream().mapToInt(Integer::intValue).toArray());
    }

    @Override
    protected Vector getSNIServerNames() {
        String name = settings.serverName();
        if (name == null || HostNames.isIpLiteral(name)) {
            return null; // RFC 6066 §3: literal IP addresses are not sent as SNI
        }
        Vector<ServerName> names = new Vector<>();
        // RFC 6066 §3: the A-label (punycode) form, without a trailing dot.
        String ascii = java.net.IDN.toASCII(name.endsWith(".") ? name.substring(0, name.length() - 1) : name,
                java.net.IDN.ALLOW_UNASSIGNED);
        names.add(new ServerName(NameType.host_name, ascii.getBytes(StandardCharsets.US_ASCII)));
        return names;
    }

    @Override
    public Hashtable getClientExtensions() throws IOException {
        Hashtable ext = super.getClientExtensions();
        List<String> versions = Arrays.stream(getProtocolVersions()).map(TokenTlsClient::versionName).toList();
        List<String> suites = Arrays.stream(cipherSuites).mapToObj(CipherSuite::nameOf).toList();
        List<String> groups = new ArrayList<>();
        if (supportedGroups != null) {
            for (Object g : supportedGroups) groups.add(NamedGroup.getStandardName((Integer) g));
        }
        recorder.step("ClientHello", ProbeStep.Status.INFO,
                ProbeStep.d("versions", versions), ProbeStep.d("cipher suites", suites),
                ProbeStep.d("groups", groups),
                ProbeStep.d("signature schemes (for the server's signature)", sigNames(supportedSignatureAlgorithms)),
                ProbeStep.d("server name (SNI)", getSNIServerNames() == null ? "not sent" : settings.serverName()));
        return ext;
    }

    @Override
    public void notifyServerVersion(ProtocolVersion serverVersion) throws IOException {
        super.notifyServerVersion(serverVersion);
        recorder.negotiated(versionName(serverVersion), null);
    }

    @Override
    public void notifySelectedCipherSuite(int selectedCipherSuite) {
        super.notifySelectedCipherSuite(selectedCipherSuite);
        String suite = CipherSuite.nameOf(selectedCipherSuite);
        recorder.negotiated(null, suite);
        recorder.step("ServerHello", ProbeStep.Status.OK, ProbeStep.d("version", recorder.version()),
                ProbeStep.d("cipher suite", suite));
    }

    @Override
    public void notifyHandshakeComplete() throws IOException {
        super.notifyHandshakeComplete();
        recorder.handshakeComplete();
        recorder.step("Finished", ProbeStep.Status.OK, ProbeStep.d("version", recorder.version()),
                ProbeStep.d("cipher suite", recorder.cipherSuite()));
    }

    @Override
    public void notifyAlertRaised(short alertLevel, short alertDescription, String message, Throwable cause) {
        if (alertLevel == AlertLevel.fatal) {
            recorder.step("Alert sent", ProbeStep.Status.FAIL,
                    ProbeStep.d("alert", AlertDescription.getText(alertDescription)),
                    ProbeStep.d("reason", message == null ? (cause == null ? "-" : String.valueOf(cause.getMessage()))
                            : message));
        }
    }

    @Override
    public void notifyAlertReceived(short alertLevel, short alertDescription) {
        if (alertLevel == AlertLevel.fatal) {
            recorder.step("Alert received", ProbeStep.Status.FAIL,
                    ProbeStep.d("alert", AlertDescription.getText(alertDescription)),
                    ProbeStep.d("hint", alertHint(alertDescription)));
        }
    }

    private String alertHint(short description) {
        return switch (description) {
            case AlertDescription.certificate_required ->
                    "the server requires a client certificate and none was sent (see 'Client certificate')";
            case AlertDescription.unknown_ca, AlertDescription.bad_certificate ->
                    "the server did not accept the client certificate's chain";
            case AlertDescription.certificate_expired -> "the server says the client certificate expired";
            case AlertDescription.handshake_failure ->
                    "no common version/suite, or (TLS 1.2) the server requires a client certificate";
            case AlertDescription.protocol_version -> "the server does not speak the versions offered";
            case AlertDescription.decrypt_error -> "a signature did not verify on the server";
            default -> "-";
        };
    }

    @Override
    public TlsAuthentication getAuthentication() {
        return new TlsAuthentication() {
            @Override
            public void notifyServerCertificate(TlsServerCertificate serverCertificate) throws IOException {
                checkServer(serverCertificate.getCertificate());
            }

            @Override
            public TlsCredentials getClientCredentials(CertificateRequest request) throws IOException {
                return credentials(request);
            }
        };
    }

    private void checkServer(Certificate certificate) throws IOException {
        List<X509Certificate> chain = new ArrayList<>();
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            for (int i = 0; i < certificate.getLength(); i++) {
                chain.add((X509Certificate) cf.generateCertificate(
                        new ByteArrayInputStream(certificate.getCertificateAt(i).getEncoded())));
            }
        } catch (CertificateException e) {
            throw new TlsFatalAlert(AlertDescription.bad_certificate, "server certificate cannot be parsed", e);
        }
        if (!chain.isEmpty()) {
            recorder.serverSubject(chain.get(0).getSubjectX500Principal().getName());
        }
        List<ProbeStep.Detail> details = new ArrayList<>();
        details.add(ProbeStep.d("chain", describeChain(chain)));
        if (settings.insecure()) {
            details.add(ProbeStep.d("validation",
                    "SKIPPED (--insecure-skip-verify): anyone could be impersonating this server"));
            recorder.step("Server certificate", ProbeStep.Status.WARN, details);
            return;
        }
        details.add(ProbeStep.d("trust anchors", settings.verifier().trustDescription()));
        try {
            String nameResult = settings.verifier().verify(chain, settings.serverName());
            details.add(ProbeStep.d("validation", "chain valid (PKIX, validity, key usage, serverAuth)"));
            details.add(ProbeStep.d("host name", nameResult));
            recorder.step("Server certificate", ProbeStep.Status.OK, details);
        } catch (ServerCertificateException e) {
            serverRejection = e;
            details.add(ProbeStep.d("validation", "FAILED (" + e.kind() + ")"));
            details.add(ProbeStep.d("why", e.getMessage()));
            recorder.step("Server certificate", ProbeStep.Status.FAIL, details);
            throw new TlsFatalAlert(alertFor(e.kind()), e.getMessage(), e);
        }
    }

    private static short alertFor(ServerCertificateException.Kind kind) {
        return switch (kind) {
            case UNKNOWN_CA -> AlertDescription.unknown_ca;
            case EXPIRED, NOT_YET_VALID -> AlertDescription.certificate_expired;
            case BAD_USAGE -> AlertDescription.unsupported_certificate;
            default -> AlertDescription.bad_certificate;
        };
    }

    private static List<String> describeChain(List<X509Certificate> chain) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < chain.size(); i++) {
            X509Certificate c = chain.get(i);
            StringBuilder b = new StringBuilder();
            b.append(i).append(": ").append(c.getSubjectX500Principal().getName())
                    .append(" | issuer ").append(c.getIssuerX500Principal().getName())
                    .append(" | valid ").append(c.getNotBefore().toInstant()).append(" to ")
                    .append(c.getNotAfter().toInstant())
                    .append(" | ").append(c.getPublicKey().getAlgorithm());
            try {
                if (i == 0 && c.getSubjectAlternativeNames() != null) {
                    b.append(" | SAN ").append(c.getSubjectAlternativeNames().stream()
                            .map(l -> String.valueOf(l.get(1))).toList());
                }
            } catch (CertificateParsingException e) {
                b.append(" | SAN unreadable");
            }
            out.add(b.toString());
        }
        return out;
    }

    private TlsCredentials credentials(CertificateRequest request) throws IOException {
        boolean tls13 = TlsUtils.isTLSv13(context);
        List<X500Principal> authorities = new ArrayList<>();
        if (request.getCertificateAuthorities() != null) {
            for (Object o : request.getCertificateAuthorities()) {
                authorities.add(new X500Principal(((X500Name) o).getEncoded()));
            }
        }
        List<Integer> codes = new ArrayList<>();
        if (request.getSupportedSignatureAlgorithms() != null) {
            for (Object o : request.getSupportedSignatureAlgorithms()) {
                codes.add(org.bouncycastle.tls.SignatureScheme.from((SignatureAndHashAlgorithm) o));
            }
        }
        Set<KeyAlgorithm> keyTypes = EnumSet.noneOf(KeyAlgorithm.class);
        if (!tls13 && request.getCertificateTypes() != null) {
            for (short t : request.getCertificateTypes()) {
                if (t == ClientCertificateType.rsa_sign) {
                    keyTypes.add(KeyAlgorithm.RSA);
                } else if (t == ClientCertificateType.ecdsa_sign) {
                    keyTypes.add(KeyAlgorithm.EC);
                    keyTypes.add(KeyAlgorithm.ED25519);
                }
            }
        }
        CertificateRequestInfo info = new CertificateRequestInfo(tls13, authorities, codes, keyTypes);
        recorder.markCertificateRequested();
        recorder.step("CertificateRequest", ProbeStep.Status.INFO,
                ProbeStep.d("acceptable CAs", authorities.isEmpty() ? List.of("(any: the server named none)")
                        : authorities.stream().map(X500Principal::getName).toList()),
                ProbeStep.d("signature schemes", info.schemeNames()),
                ProbeStep.d("certificate types", tls13 ? "(TLS 1.3: none)" : keyTypes.stream().sorted()
                        .map(Enum::name).toList().toString()));
        CertificateSelection selection;
        try {
            selection = ClientCertificateSelector.select(settings.candidates(), info);
        } catch (AmbiguousClientCertificateException e) {
            selectionFailure = e;
            recorder.step("Client certificate", ProbeStep.Status.FAIL, ProbeStep.d("why", e.getMessage()));
            throw new TlsFatalAlert(AlertDescription.internal_error, e.getMessage(), e);
        }
        if (selection instanceof CertificateSelection.Chosen chosen) {
            ClientCandidate c = chosen.candidate();
            recorder.clientCertificate(c.leaf().getSubjectX500Principal().getName());
            recorder.step("Client certificate", ProbeStep.Status.OK,
                    ProbeStep.d("sent", c.leaf().getSubjectX500Principal().getName()),
                    ProbeStep.d("key", c.description()),
                    ProbeStep.d("why", chosen.why()));
            Certificate bcChain = toBc(c.chain(), tls13 ? request.getCertificateRequestContext() : null);
            if (timer != null) {
                timer.certificate(ClientIdentity.fingerprint(c.leaf()));
            }
            return new TokenSigner(new RecordingTokenKey(c.key(), recorder), chosen.scheme(), bcChain, timer);
        }
        recorder.step("Client certificate", ProbeStep.Status.WARN, ProbeStep.d("sent", "none"),
                ProbeStep.d("why", selection.why()));
        return null;
    }

    private Certificate toBc(List<X509Certificate> chain, byte[] requestContext) throws IOException {
        TlsCrypto crypto = getCrypto();
        TlsCertificate[] certs = new TlsCertificate[chain.size()];
        try {
            for (int i = 0; i < certs.length; i++) {
                certs[i] = crypto.createCertificate(chain.get(i).getEncoded());
            }
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new TlsFatalAlert(AlertDescription.internal_error, "client certificate cannot be encoded", e);
        }
        if (requestContext == null) {
            return new Certificate(certs);
        }
        CertificateEntry[] entries = new CertificateEntry[certs.length];
        for (int i = 0; i < certs.length; i++) {
            entries[i] = new CertificateEntry(certs[i], null);
        }
        return new Certificate(requestContext, entries);
    }

    /** JSSE/OpenSSL spelling ("TLSv1.3"), as the rest of hsmtls prints versions. */
    static String versionName(ProtocolVersion v) {
        if (ProtocolVersion.TLSv13.equals(v)) return TlsVersion.TLS_1_3.display();
        if (ProtocolVersion.TLSv12.equals(v)) return TlsVersion.TLS_1_2.display();
        return v.getName();
    }

    /**
     * What the client accepts for the server's signatures: the schemes TLS 1.3 and 1.2 servers
     * use today, no SHA-1 and nothing the token layer cannot name. (BC's default list also carries
     * SHA-1, SHA-224 and ML-DSA.)
     */
    @Override
    protected Vector getSupportedSignatureAlgorithms() {
        Vector<SignatureAndHashAlgorithm> v = new Vector<>();
        for (io.hsmtls.token.SignatureScheme s : io.hsmtls.token.SignatureScheme.values()) {
            v.add(org.bouncycastle.tls.SignatureScheme.getSignatureAndHashAlgorithm(s.code()));
        }
        return v;
    }

    /** ECDHE groups only: X25519, P-256, P-384 (BC's default also offers X448 and finite-field DH). */
    @Override
    protected Vector getSupportedGroups(Vector namedGroupRoles) {
        Vector<Integer> v = new Vector<>();
        v.add(NamedGroup.x25519);
        v.add(NamedGroup.secp256r1);
        v.add(NamedGroup.secp384r1);
        return v;
    }

    private static List<String> sigNames(Vector<?> algs) {
        List<String> out = new ArrayList<>();
        if (algs != null) {
            for (Object o : algs) {
                int code = org.bouncycastle.tls.SignatureScheme.from((SignatureAndHashAlgorithm) o);
                out.add(io.hsmtls.token.SignatureScheme.ofCode(code).map(io.hsmtls.token.SignatureScheme::tlsName)
                        .orElse(org.bouncycastle.tls.SignatureScheme.getText(code)));
            }
        }
        return out;
    }
}
