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
     * Every connection makes two record ciphers per key phase, and {@code Cipher} cannot be
     * cloned. The first look-up for a name goes through the provider list; later ones ask the
     * provider it found directly. That is the cheapest public way: wrapping the provider's
     * {@code CipherSpi} in a {@code Cipher} subclass skips the transformation parsing but pays
     * for a stack walk instead ({@code Cipher}'s protected constructor asks who its caller is),
     * which cost ~0.9 % of a TLS 1.3 server handshake more than this in a profile of serve.
     */
    @Override
    public Cipher createCipher(String transformation) throws NoSuchAlgorithmException, NoSuchPaddingException {
        Provider p = cipherProviders.get(transformation);
        if (p != null) {
            return Cipher.getInstance(transformation, p);
        }
        Cipher c = super.createCipher(transformation);
        cipherProviders.putIfAbsent(transformation, c.getProvider());
        return c;
    }
}
