package io.hsmtls.tls.bc;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.Provider;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.NoSuchPaddingException;
import org.bouncycastle.jcajce.util.DefaultJcaJceHelper;

/**
 * The JDK's providers, without the per-call provider search. A TLS 1.3 handshake asks Bouncy
 * Castle's JCA crypto for a dozen {@code Mac}, {@code MessageDigest} and {@code Cipher}
 * instances; each {@code getInstance(name)} walks the provider list, upper-cases the name and
 * checks the provider's JAR verification — about 9 % of a TLS 1.3 server handshake's CPU in a
 * profile of {@code serve}. Here the first request for a name is resolved as usual (so the
 * provider order and any installed provider still decide), and later ones clone a prepared
 * instance of the same provider ({@code Mac}, {@code MessageDigest}: both cloneable in SUN and
 * SunJCE) or ask that provider directly ({@code Cipher}, which cannot be cloned). An algorithm
 * whose instance does not clone keeps the plain look-up.
 */
final class PreparedJcaHelper extends DefaultJcaJceHelper {
    private final ConcurrentHashMap<String, Mac> macs = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, MessageDigest> digests = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Provider> cipherProviders = new ConcurrentHashMap<>();
    /** The provider's service for a transformation it names exactly (AES/GCM/NoPadding in SunJCE). */
    private final ConcurrentHashMap<String, Provider.Service> cipherServices = new ConcurrentHashMap<>();
    /** Names whose prototype would not clone: looked up every time, and not tried again. */
    private final java.util.Set<String> plain = ConcurrentHashMap.newKeySet();

    @Override
    public Mac createMac(String algorithm) throws NoSuchAlgorithmException {
        Mac proto = macs.get(algorithm);
        if (proto != null) {
            try {
                return (Mac) proto.clone();
            } catch (CloneNotSupportedException e) {
                macs.remove(algorithm);
                plain.add("mac:" + algorithm);
            }
        }
        Mac mac = super.createMac(algorithm);
        if (!plain.contains("mac:" + algorithm)) {
            try {
                Mac p = Mac.getInstance(algorithm, mac.getProvider());
                p.clone(); // proves it clones before it is kept
                macs.putIfAbsent(algorithm, p);
            } catch (CloneNotSupportedException | NoSuchAlgorithmException e) {
                plain.add("mac:" + algorithm);
            }
        }
        return mac;
    }

    @Override
    public MessageDigest createMessageDigest(String algorithm) throws NoSuchAlgorithmException {
        return digest(algorithm, false);
    }

    @Override
    public MessageDigest createDigest(String algorithm) throws NoSuchAlgorithmException {
        return digest(algorithm, true);
    }

    private MessageDigest digest(String algorithm, boolean bcNames) throws NoSuchAlgorithmException {
        String key = (bcNames ? "d:" : "md:") + algorithm;
        MessageDigest proto = digests.get(key);
        if (proto != null) {
            try {
                return (MessageDigest) proto.clone();
            } catch (CloneNotSupportedException e) {
                digests.remove(key);
                plain.add(key);
            }
        }
        MessageDigest md = bcNames ? super.createDigest(algorithm) : super.createMessageDigest(algorithm);
        if (!plain.contains(key)) {
            try {
                MessageDigest p = MessageDigest.getInstance(md.getAlgorithm(), md.getProvider());
                p.clone();
                digests.putIfAbsent(key, p);
            } catch (CloneNotSupportedException | NoSuchAlgorithmException e) {
                plain.add(key);
            }
        }
        return md;
    }

    /**
     * Every connection makes two record ciphers. {@code Cipher.getInstance(name, provider)} still
     * parses the transformation, checks the provider's signature and the crypto constraints each
     * time (2–3 % of a handshake); the first look-up has done all that for this provider and
     * name, so later ones take a fresh {@code CipherSpi} from the same provider service and wrap
     * it, as {@code Cipher}'s own constructor for providers allows. A transformation the provider
     * lists only as parts ("AES" + "GCM" mode) keeps the full look-up.
     */
    @Override
    public Cipher createCipher(String transformation) throws NoSuchAlgorithmException, NoSuchPaddingException {
        Provider.Service service = cipherServices.get(transformation);
        if (service != null) {
            return new SpiCipher((javax.crypto.CipherSpi) service.newInstance(null), service.getProvider(),
                    transformation);
        }
        Provider p = cipherProviders.get(transformation);
        if (p != null) {
            return Cipher.getInstance(transformation, p);
        }
        Cipher c = super.createCipher(transformation);
        cipherProviders.putIfAbsent(transformation, c.getProvider());
        Provider.Service s = c.getProvider().getService("Cipher", transformation);
        if (s != null && s.getAlgorithm().equalsIgnoreCase(transformation)) {
            try {
                if (s.newInstance(null) instanceof javax.crypto.CipherSpi) {
                    cipherServices.putIfAbsent(transformation, s);
                }
            } catch (NoSuchAlgorithmException | RuntimeException e) {
                // keep the provider look-up for this name
            }
        }
        return c;
    }

    /** A {@code Cipher} around a provider's {@code CipherSpi}, made without a provider search. */
    private static final class SpiCipher extends Cipher {
        SpiCipher(javax.crypto.CipherSpi spi, Provider provider, String transformation) {
            super(spi, provider, transformation);
        }
    }
}
