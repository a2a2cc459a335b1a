package io.hsmtls.token.iaik;

import io.hsmtls.token.CertificateMismatchException;
import io.hsmtls.token.CkrClass;
import io.hsmtls.token.KeyAlgorithm;
import io.hsmtls.token.KeyId;
import io.hsmtls.token.KeyNotFoundException;
import io.hsmtls.token.KeyPolicy;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.LoginFailedException;
import io.hsmtls.token.Mechanism;
import io.hsmtls.token.MechanismInfo;
import io.hsmtls.token.ObjectExistsException;
import io.hsmtls.token.ObjectType;
import io.hsmtls.token.Pin;
import io.hsmtls.token.PinLockedException;
import io.hsmtls.token.PinSource;
import io.hsmtls.token.PinUnavailableException;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenException;
import io.hsmtls.token.TokenInfo;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenObject;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.TokenStats;
import io.hsmtls.token.TokenUnavailableException;
import java.math.BigInteger;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import iaik.pkcs.pkcs11.wrapper.PKCS11;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.KeyPairTemplate;
import org.xipki.pkcs11.wrapper.PKCS11Constants;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.PKCS11KeyPair;
import org.xipki.pkcs11.wrapper.Session;
import org.xipki.pkcs11.wrapper.Slot;

/**
 * One open token. Opening selects exactly one token by the URI, asks it once for its mechanisms,
 * opens the session that carries the login, and logs in once (PKCS#11 v2.40 §5.6: login state is
 * per token and application, shared by all sessions). A wrong PIN is never retried.
 *
 * <p>Private-key operations run on a {@link Lane} of platform threads over a bounded
 * {@link SessionPool}, calling the raw PKCS#11 interface so the real CKR_ code of every failure
 * is seen. Provisioning and lookups run on the caller's thread with a pooled session.
 */
public final class IaikToken implements Token {
    static final long CKO_CERTIFICATE = PKCS11Constants.CKO_CERTIFICATE;
    static final long CKO_PUBLIC_KEY = PKCS11Constants.CKO_PUBLIC_KEY;
    static final long CKO_PRIVATE_KEY = PKCS11Constants.CKO_PRIVATE_KEY;
    private static final SecureRandom RANDOM = new SecureRandom();
    static final Duration DEFAULT_RECOVERY_FIRST = Duration.ofSeconds(1);
    static final Duration DEFAULT_RECOVERY_MAX = Duration.ofSeconds(30);
    /** Tokens logged in per module and slot: the last one to close logs out. */
    private static final Map<String, Integer> LOGINS = new LinkedHashMap<>();
    /** Every C_Login(CKU_USER) this process made, successful or not: proves a wrong PIN is tried once. */
    static final java.util.concurrent.atomic.LongAdder LOGIN_ATTEMPTS = new java.util.concurrent.atomic.LongAdder();

    private final SharedModule module;
    private final PKCS11 raw;
    private volatile Slot slot;
    private final TokenOptions options;
    private final TokenInfo info;
    private final List<MechanismInfo> mechanisms;
    private final Set<Long> mechanismCodes;
    private volatile Session anchor;
    private final boolean utf8;
    private volatile SessionPool pool;
    private volatile Lane lane;
    private final int poolSize;
    private volatile long moduleGeneration;
    /**
     * The module generation recovery last saw: re-initialise only if nobody has since. After a
     * failed attempt it is the generation that attempt made, so the next attempt initialises again
     * (a module re-initialised while its server was away shows no token until it is again).
     */
    private volatile long reinitSeen;
    private volatile Thread recoverer;
    private volatile Duration recoveryFirst;
    private volatile Duration recoveryMax;
    private final TokenHealth health;
    private final Consumer<String> notices;
    private final Optional<PinSource> pinSource;
    private final String loginKey;
    private volatile Pin contextPin;
    /** Set once the token refused a PIN: from then on hsmtls presents no PIN to it again (a retry can lock it). */
    private volatile LoginFailedException loginRefused;
    private volatile boolean loggedIn;
    private volatile boolean closed;
    private final java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean();

    final AtomicLong signs = new AtomicLong();
    final AtomicLong decrypts = new AtomicLong();
    final AtomicLong userLogins = new AtomicLong();
    final AtomicLong contextLogins = new AtomicLong();
    final AtomicLong failures = new AtomicLong();
    final AtomicLong rejected = new AtomicLong();
    final AtomicLong reinitializations = new AtomicLong();

    private IaikToken(SharedModule module, Slot slot, TokenOptions options, TokenInfo info,
                      List<MechanismInfo> mechanisms, Session anchor, Consumer<String> notices) {
        this.module = module;
        this.raw = module.raw();
        this.slot = slot;
        this.options = options;
        this.info = info;
        this.mechanisms = mechanisms;
        this.mechanismCodes = mechanisms.stream().map(MechanismInfo::code).collect(Collectors.toUnmodifiableSet());
        this.anchor = anchor;
        this.utf8 = anchor.isSetUtf8Encoding();
        this.notices = notices;
        this.health = new TokenHealth(info.label());
        this.poolSize = poolSize(options.maxSessions(), options.readWrite() && info.maxRwSessions() > 0
                && (info.maxSessions() <= 0 || info.maxRwSessions() < info.maxSessions()) ? info.maxRwSessions()
                : info.maxSessions());
        this.pool = newPool();
        this.lane = new Lane(info.label(), poolSize, options.maxPending());
        this.moduleGeneration = module.generation();
        this.reinitSeen = moduleGeneration;
        this.pinSource = options.pin().or(() -> PinSource.of(options.uri()));
        this.loginKey = module.path() + "#" + slot.getSlotID();
    }

    private SessionPool newPool() {
        return new SessionPool(info.label(), poolSize, () -> slot.getToken().openSession(options.readWrite()));
    }

    /**
     * 0 = the token's ulMaxSessionCount (ulMaxRwSessionCount for read-write use) when finite, less
     * the one session that carries the login, capped at 16.
     */
    static int poolSize(int configured, long tokenMax) {
        if (configured > 0) {
            return configured;
        }
        // CK_EFFECTIVELY_INFINITE is 0; CK_UNAVAILABLE_INFORMATION is ~0 (negative as a Java long).
        if (tokenMax <= 0) {
            return 16;
        }
        // Leave one session for the login-carrying session.
        return (int) Math.max(1, Math.min(tokenMax - 1, 16));
    }

    static IaikToken open(TokenOptions options, Consumer<String> notices) {
        SharedModule module = SharedModule.acquire(ModuleResolver.resolve(options.uri(), options.module()));
        Session anchor = null;
        try {
            Slot slot;
            try {
                slot = Slots.find(module, options.uri());
            } catch (io.hsmtls.token.TokenNotFoundException e) {
                // Some modules (SoftHSM) list only the tokens that existed at C_Initialize. When nobody
                // else in this process uses the module, initialise it again once and look again.
                if (e.ambiguous() || module.users() > 1 || !module.ownsInitialization()) {
                    throw e;
                }
                module.reinitialize(module.generation());
                slot = Slots.find(module, options.uri());
            }
            TokenInfo info = Slots.describe(slot);
            List<MechanismInfo> mechanisms = Slots.mechanisms(module, slot.getSlotID());
            try {
                anchor = slot.getToken().openSession(options.readWrite());
            } catch (PKCS11Exception e) {
                throw Ckr.failure("C_OpenSession on token '" + info.label() + "'", e);
            }
            IaikToken token = new IaikToken(module, slot, options, info, mechanisms, anchor, notices);
            token.login();
            token.health.onChange(h -> {
                if (!h.up()) {
                    // An operator must see when and why the token went away, not only that it came back.
                    notices.accept("token '" + info.label() + "' is down since " + h.downSince() + ": "
                            + h.downDetail() + "; new private-key operations fail at once"
                            + (token.recoveryFirst != null ? ", recovering in the background" : ""));
                    if (token.recoveryFirst != null) {
                        token.startRecoverer();
                    }
                }
            });
            token.enableAutoRecovery(DEFAULT_RECOVERY_FIRST, DEFAULT_RECOVERY_MAX);
            return token;
        } catch (RuntimeException e) {
            if (anchor != null) {
                try {
                    anchor.closeSession();
                } catch (PKCS11Exception | RuntimeException ignored) {
                    // already failing
                }
            }
            module.release();
            throw e;
        }
    }

    // ---- login ----------------------------------------------------------------------------

    private void login() {
        if (!info.loginRequired()) {
            return;
        }
        Pin pin = readPin();
        loginWith(pin, true);
    }

    /** C_Login(CKU_USER) with {@code pin} (null: PIN pad), which this method closes. */
    private void loginWith(Pin pin, boolean first) {
        try {
            userLogins.incrementAndGet();
            LOGIN_ATTEMPTS.increment();
            try {
                raw.C_Login(anchor.getSessionHandle(), PKCS11Constants.CKU_USER, pin == null ? null : pin.reveal(), utf8);
            } catch (iaik.pkcs.pkcs11.wrapper.PKCS11Exception e) {
                long c = e.getErrorCode();
                if (c != Ckr.CKR_USER_ALREADY_LOGGED_IN) {
                    TokenException te = loginFailure(e, "C_Login (CKU_USER)");
                    if (te instanceof LoginFailedException lf) {
                        loginRefused = lf;
                    }
                    throw te;
                }
            }
            if (first) {
                loggedIn = true;
                synchronized (LOGINS) {
                    LOGINS.merge(loginKey, 1, Integer::sum);
                }
                // Keep a copy of the PIN only when a key needs a PIN per signature (CKA_ALWAYS_AUTHENTICATE).
                if (pin != null && hasAlwaysAuthenticateKey()) {
                    contextPin = pin.copy();
                }
            }
        } finally {
            if (pin != null) {
                pin.close();
            }
        }
    }

    /** The PIN from the options, else the URI's pin-source or pin-value; null for a PIN pad. */
    private Pin readPin() {
        if (pinSource.isPresent()) {
            return pinSource.get().read();
        }
        Optional<Pin> fromUri = options.uri().pinValue();
        if (fromUri.isPresent()) {
            return fromUri.get();
        }
        if (info.protectedAuthenticationPath()) {
            notices.accept("token '" + info.label() + "' has a PIN pad: enter the PIN on the reader now");
            return null;
        }
        throw new PinUnavailableException("(no PIN source)", "token '" + info.label()
                + "' needs a login: give --pin-file FILE, --pin-stdin, or pin-source=file:… in the URI");
    }

    private TokenException loginFailure(iaik.pkcs.pkcs11.wrapper.PKCS11Exception e, String what) {
        long c = e.getErrorCode();
        String name = Ckr.name(c);
        if (c == Ckr.CKR_PIN_LOCKED || c == Ckr.CKR_PIN_EXPIRED) {
            return new PinLockedException(info.label(), name);
        }
        if (c == Ckr.CKR_PIN_INCORRECT || c == Ckr.CKR_PIN_INVALID || c == Ckr.CKR_PIN_LEN_RANGE) {
            LoginFailedException.PinTries tries;
            try {
                // The flags only say how many tries are left after the failed attempt: read them now.
                tries = Slots.describe(slot).pinTries();
            } catch (RuntimeException ex) {
                tries = LoginFailedException.PinTries.UNKNOWN;
            }
            return new LoginFailedException(info.label(), name, tries);
        }
        return Ckr.failure(what + " to token '" + info.label() + "'", e);
    }

    private boolean hasAlwaysAuthenticateKey() {
        return withSession("C_FindObjects", s -> findObjects(s.session,
                new AttributeVector().class_(CKO_PRIVATE_KEY).alwaysAuthenticate(true), 1).length > 0);
    }

    /**
     * C_Login(CKU_CONTEXT_SPECIFIC) between C_SignInit/C_DecryptInit and the operation, as
     * PKCS#11 v2.40 §5.6 requires for CKA_ALWAYS_AUTHENTICATE keys. Never retried.
     */
    void contextLogin(SessionPool.Lease s, String keyName) {
        LoginFailedException refused = loginRefused;
        if (refused != null) {
            throw refused;
        }
        char[] chars = null;
        Pin reread = null;
        Pin cached = contextPin;
        if (cached != null && !cached.isClosed()) {
            chars = cached.reveal();
        } else if (pinSource.isPresent() && pinSource.get() instanceof PinSource.FromFile file) {
            // Reading a file again asks nobody anything; other sources were read once at open.
            reread = file.read();
            chars = reread.reveal();
        } else if (info.protectedAuthenticationPath()) {
            notices.accept("key " + keyName + " on token '" + info.label()
                    + "' needs the PIN for this signature: enter it on the reader's PIN pad");
        } else {
            throw new PinUnavailableException("(PIN not kept)", "key " + keyName + " needs a PIN for every signature"
                    + " (CKA_ALWAYS_AUTHENTICATE) and the PIN read at login was not kept: reopen the token");
        }
        try {
            contextLogins.incrementAndGet();
            raw.C_Login(s.handle, PKCS11Constants.CKU_CONTEXT_SPECIFIC, chars, utf8);
        } catch (iaik.pkcs.pkcs11.wrapper.PKCS11Exception e) {
            TokenException te = loginFailure(e, "C_Login (CKU_CONTEXT_SPECIFIC) for key " + keyName);
            if (te instanceof LoginFailedException lf) {
                // The PIN is wrong now (changed?): forget it, and present no PIN to this token again.
                loginRefused = lf;
                Pin p = contextPin;
                contextPin = null;
                if (p != null) {
                    p.close();
                }
            }
            throw te;
        } finally {
            if (reread != null) {
                reread.close();
            }
        }
    }

    // ---- running calls ---------------------------------------------------------------------

    interface SessionCall<T> {
        T call(SessionPool.Lease s) throws PKCS11Exception, iaik.pkcs.pkcs11.wrapper.PKCS11Exception;
    }

    /**
     * A private-key operation: on the lane, with a pooled session, the deadline, and one retry on
     * a fresh session (and a re-found key handle) when the code is transient.
     */
    <T> T hot(String operation, IaikTokenKey key, SessionCall<T> call) {
        ensureOpen();
        try {
            followModule();
            health.checkUp();
            return lane.call(() -> runWithRetry(operation, key, call), options.acquireTimeout(), options.opDeadline(),
                    deadline -> health.markDown(TokenUnavailableException.Reason.DEADLINE,
                            operation + " ran longer than " + deadline.toMillis() + " ms"));
        } catch (TokenUnavailableException e) {
            rejected.incrementAndGet();
            throw e;
        }
    }

    /** A lookup or provisioning call on the caller's thread (no deadline: key generation can take long). */
    <T> T withSession(String operation, SessionCall<T> call) {
        ensureOpen();
        followModule();
        health.checkUp();
        return runWithRetry(operation, null, call);
    }

    private <T> T runWithRetry(String operation, IaikTokenKey key, SessionCall<T> call) {
        for (int attempt = 0; ; attempt++) {
            SessionPool.Lease s;
            // One pool per attempt: a recovery may swap the pool, and a lease goes back where it came from.
            SessionPool pool = this.pool;
            try {
                s = pool.acquire(options.acquireTimeout());
            } catch (PKCS11Exception e) {
                failures.incrementAndGet();
                noteDevice(operation, e);
                throw Ckr.failure("C_OpenSession for " + operation + " on token '" + info.label() + "'", e);
            }
            try {
                T result = call.call(s);
                pool.release(s);
                return result;
            } catch (PKCS11Exception | iaik.pkcs.pkcs11.wrapper.PKCS11Exception e) {
                CkrClass c = Ckr.classOf(e);
                if (c == CkrClass.OTHER && !s.dirty) {
                    pool.release(s);
                } else {
                    pool.discard(s);
                }
                failures.incrementAndGet();
                if (key != null && c != CkrClass.OTHER) {
                    key.forgetHandle();
                }
                if (c == CkrClass.TRANSIENT && attempt == 0) {
                    continue;
                }
                noteDevice(operation, e);
                throw Ckr.failure(operation + " on token '" + info.label() + "'", e);
            } catch (RuntimeException e) {
                // Our own checks (key not found, PIN problems) leave a clean session unless an operation was begun.
                if (s.dirty) {
                    pool.discard(s);
                } else {
                    pool.release(s);
                }
                throw e;
            } catch (Error e) {
                pool.discard(s);
                throw e;
            }
        }
    }

    private void noteDevice(String operation, Exception e) {
        if (Ckr.classOf(e) == CkrClass.DEVICE) {
            long c = Ckr.code(e);
            health.markDown(c == 0xE0 || c == 0x32 ? TokenUnavailableException.Reason.NOT_PRESENT
                    : TokenUnavailableException.Reason.DOWN, operation + " failed (" + Ckr.name(c) + ")");
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new TokenUnavailableException(info.label(), TokenUnavailableException.Reason.CLOSED, null,
                    "the token was closed: open it again");
        }
    }

    PKCS11 raw() {
        return raw;
    }

    // ---- recovery (issue 6) ------------------------------------------------------------------

    /**
     * Another token on the same module re-initialised it: this token's sessions and login are
     * gone too, so rebuild them (without a second C_Finalize).
     */
    private void followModule() {
        // Only on first notice: once down, recovery is up to recover() / auto recovery, not every caller.
        if (module.generation() != moduleGeneration && !closed && health.up()) {
            try {
                recover();
            } catch (TokenException e) {
                health.markDown(TokenUnavailableException.Reason.DOWN, "module re-initialised and this token could"
                        + " not follow: " + e.getMessage());
            }
        }
    }

    /**
     * Brings the token back after a device failure or hang: C_Finalize/C_Initialize of the module
     * (once, if no other token on it did already), the token found again by its URI, a new login
     * session and login, a new session pool (the old handles are forgotten, never closed), a new
     * lane if the old one has a thread stuck in the token, and a new handle generation so every
     * key finds its object again (and checks its public key is unchanged). While a hung call is
     * still inside the module it refuses to start (C_Finalize under a running call is undefined), so
     * a hung token comes back once that call returns or the module's process dies.
     *
     * <p>The PIN comes from the PIN kept for CKA_ALWAYS_AUTHENTICATE keys, else from the PIN
     * source again if it is a file (or the URI's pin-value); a PIN that was typed is not kept, so
     * such a token cannot recover by itself.
     *
     * @throws TokenException when the token is still unreachable; {@link LoginFailedException} when
     *                        the PIN is refused (then nothing must retry)
     */
    public synchronized void recover() {
        ensureOpen();
        LoginFailedException refused = loginRefused;
        if (refused != null) {
            throw refused;
        }
        if (health.up() && module.generation() == moduleGeneration) {
            return;
        }
        boolean hung = health.downReason() == TokenUnavailableException.Reason.DEADLINE;
        int stuck = lane.running();
        if (stuck > 0) {
            // PKCS#11 v2.40 §5.4: C_Finalize while another thread is inside the library is undefined;
            // p11-kit's client aborts the whole process when the stuck call returns afterwards.
            throw new TokenUnavailableException(info.label(), TokenUnavailableException.Reason.DEADLINE,
                    health.downSince(), stuck + " token call(s) still inside the module since it hung: C_Finalize "
                    + "is not safe until they return, so recovery waits for the token (or its process) to answer");
        }
        try {
            rebuild(hung);
        } catch (RuntimeException e) {
            reinitSeen = module.generation();
            throw e;
        }
        moduleGeneration = module.generation();
        reinitSeen = moduleGeneration;
        reinitializations.incrementAndGet();
        health.markUp();
    }

    private void rebuild(boolean hung) {
        module.reinitialize(reinitSeen);
        pool.abandon();
        Slot newSlot = Slots.find(module, options.uri());
        Session newAnchor;
        try {
            newAnchor = newSlot.getToken().openSession(options.readWrite());
        } catch (PKCS11Exception e) {
            throw Ckr.failure("C_OpenSession on token '" + info.label() + "' while recovering", e);
        }
        slot = newSlot;
        anchor = newAnchor;
        pool = newPool();
        if (hung) {
            Lane old = lane;
            lane = new Lane(info.label(), poolSize, options.maxPending());
            old.shutdown();
        }
        if (info.loginRequired()) {
            loginWith(recoveryPin(), false);
        }
    }

    private Pin recoveryPin() {
        Pin kept = contextPin;
        if (kept != null && !kept.isClosed()) {
            return kept.copy();
        }
        if (pinSource.isPresent() && pinSource.get() instanceof PinSource.FromFile file) {
            return file.read();
        }
        Optional<Pin> fromUri = options.uri().pinValue();
        if (fromUri.isPresent()) {
            return fromUri.get();
        }
        if (info.protectedAuthenticationPath()) {
            notices.accept("token '" + info.label() + "' is back: enter the PIN on the reader's PIN pad");
            return null;
        }
        throw new PinUnavailableException(pinSource.map(PinSource::describe).orElse("(no PIN source)"),
                "token '" + info.label() + "' came back but its PIN was typed and not kept: restart hsmtls, or give"
                        + " the PIN in a file so it can log in again by itself");
    }

    /**
     * Recovers by itself after the token is marked down: a platform thread tries {@link #recover()}
     * after {@code first}, then at doubling intervals up to {@code max}, until it works or the token
     * is closed. A refused PIN stops it for good (a retry could lock the card). On by default
     * (1 s, then up to 30 s); this changes the intervals.
     */
    public void enableAutoRecovery(Duration first, Duration max) {
        if (first.isNegative() || first.isZero() || max.compareTo(first) < 0) {
            throw new IllegalArgumentException("auto recovery intervals: first " + first + " must be > 0 and <= max " + max);
        }
        this.recoveryMax = max;
        this.recoveryFirst = first;
        if (!health.up()) {
            startRecoverer();
        }
    }

    /** Leaves a token that went down down until {@link #recover()} is called (tests, or an operator's choice). */
    public void disableAutoRecovery() {
        this.recoveryFirst = null;
        Thread r = recoverer;
        if (r != null) {
            r.interrupt();
        }
    }

    private synchronized void startRecoverer() {
        if (closed || (recoverer != null && recoverer.isAlive())) {
            return;
        }
        recoverer = Thread.ofPlatform().daemon(true).name("hsmtls-token-recovery-" + info.label()).start(() -> {
            Duration wait = recoveryFirst;
            while (!closed && !health.up() && recoveryFirst != null) {
                try {
                    Thread.sleep(wait);
                } catch (InterruptedException e) {
                    return;
                }
                try {
                    recover();
                    notices.accept("token '" + info.label() + "' recovered (re-initialised, logged in again)");
                    return;
                } catch (LoginFailedException e) {
                    notices.accept("token '" + info.label() + "' stays down: " + e.getMessage());
                    return;
                } catch (io.hsmtls.token.TokenNotFoundException e) {
                    health.stillDown(TokenUnavailableException.Reason.NOT_PRESENT, "the token is not present ("
                            + e.getMessage() + ")");
                    notices.accept("token '" + info.label() + "' still down: " + e.getMessage() + "; next try in "
                            + wait.multipliedBy(2).toMillis() + " ms");
                } catch (TokenException | IllegalStateException e) {
                    notices.accept("token '" + info.label() + "' still down: " + e.getMessage() + "; next try in "
                            + wait.multipliedBy(2).toMillis() + " ms");
                }
                wait = wait.multipliedBy(2);
                Duration max = recoveryMax;
                if (wait.compareTo(max) > 0) {
                    wait = max;
                }
            }
        });
    }

    /**
     * Whether the token lets key {@code h} start an operation with {@code m}: initialises it on a
     * session of its own, which is then closed (the operation it began cannot be finished cleanly).
     */
    boolean probeInit(long h, Mechanism m, boolean canSign, boolean canDecrypt) {
        Session s;
        try {
            s = slot.getToken().openSession(false);
        } catch (PKCS11Exception e) {
            return false;
        }
        try {
            iaik.pkcs.pkcs11.wrapper.CK_MECHANISM cm = new iaik.pkcs.pkcs11.wrapper.CK_MECHANISM();
            cm.mechanism = m.code();
            if (m == Mechanism.CKM_RSA_PKCS_PSS) {
                iaik.pkcs.pkcs11.wrapper.CK_RSA_PKCS_PSS_PARAMS p = new iaik.pkcs.pkcs11.wrapper.CK_RSA_PKCS_PSS_PARAMS();
                p.hashAlg = PKCS11Constants.CKM_SHA256;
                p.mgf = PKCS11Constants.CKG_MGF1_SHA256;
                p.sLen = 32;
                cm.pParameter = p;
            }
            boolean decrypt = m == Mechanism.CKM_RSA_X_509 || (m == Mechanism.CKM_RSA_PKCS && !canSign && canDecrypt);
            if (decrypt) {
                raw.C_DecryptInit(s.getSessionHandle(), cm, h, utf8);
            } else {
                raw.C_SignInit(s.getSessionHandle(), cm, h, utf8);
            }
            return true;
        } catch (iaik.pkcs.pkcs11.wrapper.PKCS11Exception e) {
            return false;
        } finally {
            try {
                s.closeSession();
            } catch (PKCS11Exception | RuntimeException e) {
                // a probe session
            }
        }
    }

    boolean utf8() {
        return utf8;
    }

    // ---- Token -----------------------------------------------------------------------------

    @Override
    public TokenInfo info() {
        return info;
    }

    /** The token's state now (C_GetTokenInfo), e.g. for the PIN counter flags. */
    public TokenInfo currentInfo() {
        return Slots.describe(slot);
    }

    public TokenHealth health() {
        return health;
    }

    public Path modulePath() {
        return module.path();
    }

    SharedModule module() {
        return module;
    }

    /** Why private-key calls go through the wrapper's JNI, not straight into the module; empty when they don't. */
    @Override
    public Optional<String> whyNotDirect() {
        return module.whyNotDirect();
    }

    /** The module's direct hot calls, or null (then {@link #raw()}). */
    DirectCalls direct() {
        return module.direct();
    }

    /** Tests: the raw handles of the idle pooled sessions. */
    List<Long> idleSessionHandlesForTest() {
        return pool.idleHandles();
    }

    @Override
    public List<MechanismInfo> mechanisms() {
        return mechanisms;
    }

    @Override
    public boolean supports(Mechanism mechanism) {
        return mechanismCodes.contains(mechanism.code());
    }

    /** The URI of this token (label and serial), without module or PIN. */
    public Pkcs11Uri tokenUri() {
        return Pkcs11Uri.any().withToken(info.label());
    }

    @Override
    public TokenKey key(Pkcs11Uri uri) {
        if (uri.type().isPresent() && uri.type().get() != ObjectType.PRIVATE) {
            throw new KeyNotFoundException(uri, List.of("(the URI asks for type=" + uri.type().get().uriValue()
                    + "; a key URI names type=private or no type)"), false);
        }
        if (uri.token().isPresent() && !uri.token().get().equals(info.label())
                || uri.serial().isPresent() && !uri.serial().get().equals(info.serial())) {
            throw new KeyNotFoundException(uri, List.of("(the URI names another token; this is " + info.describe() + ")"),
                    false);
        }
        return withSession("C_FindObjects", s -> {
            AttributeVector t = new AttributeVector().class_(CKO_PRIVATE_KEY);
            uri.object().ifPresent(t::label);
            uri.id().ifPresent(id -> t.id(id.bytes()));
            long[] handles = findObjects(s.session, t, 2);
            if (handles.length != 1) {
                List<String> all = new ArrayList<>();
                for (IaikTokenKey k : loadKeys(s, findObjects(s.session, new AttributeVector().class_(CKO_PRIVATE_KEY), 1000))) {
                    all.add(k.info().describe());
                }
                throw new KeyNotFoundException(uri, all, handles.length > 1);
            }
            return IaikTokenKey.load(this, s, handles[0]);
        });
    }

    @Override
    public List<TokenKey> keys() {
        return withSession("C_FindObjects", s -> List.copyOf(
                loadKeys(s, findObjects(s.session, new AttributeVector().class_(CKO_PRIVATE_KEY), 1000))));
    }

    /** The keys hsmtls can use; private keys of other types (DSA, GOST, …) are left out. */
    private List<IaikTokenKey> loadKeys(SessionPool.Lease s, long[] handles) throws PKCS11Exception {
        List<IaikTokenKey> out = new ArrayList<>();
        for (long h : handles) {
            try {
                out.add(IaikTokenKey.load(this, s, h));
            } catch (KeyNotFoundException e) {
                // not a key type hsmtls uses
            }
        }
        return out;
    }

    @Override
    public List<TokenObject> objects() {
        return withSession("C_FindObjects", s -> {
            List<TokenObject> out = new ArrayList<>();
            for (long h : findObjects(s.session, new AttributeVector(), 10000)) {
                TokenObject o = describeObject(s.session, h);
                if (o != null) {
                    out.add(o);
                }
            }
            return List.copyOf(out);
        });
    }

    private TokenObject describeObject(Session s, long h) throws PKCS11Exception {
        AttributeVector a = s.getAttrValues(h, PKCS11Constants.CKA_CLASS, PKCS11Constants.CKA_LABEL,
                PKCS11Constants.CKA_ID, PKCS11Constants.CKA_KEY_TYPE);
        Long cls = a.class_();
        if (cls == null) {
            return null;
        }
        ObjectType type;
        if (cls == CKO_PRIVATE_KEY) type = ObjectType.PRIVATE;
        else if (cls == CKO_PUBLIC_KEY) type = ObjectType.PUBLIC;
        else if (cls == CKO_CERTIFICATE) type = ObjectType.CERT;
        else if (cls == PKCS11Constants.CKO_SECRET_KEY) type = ObjectType.SECRET_KEY;
        else if (cls == PKCS11Constants.CKO_DATA) type = ObjectType.DATA;
        else return null;
        String label = a.label() == null ? "" : a.label();
        byte[] idBytes = a.id();
        KeyId id = idBytes == null || idBytes.length == 0 ? null : KeyId.of(idBytes);
        String keyDesc = null;
        String subject = null;
        Boolean sensitive = null;
        Boolean extractable = null;
        if (type == ObjectType.PRIVATE || type == ObjectType.PUBLIC) {
            keyDesc = keyDescription(s, h, a.keyType());
            if (type == ObjectType.PRIVATE) {
                AttributeVector p = s.getAttrValues(h, PKCS11Constants.CKA_SENSITIVE, PKCS11Constants.CKA_EXTRACTABLE);
                sensitive = p.sensitive();
                extractable = p.extractable();
            }
        } else if (type == ObjectType.CERT) {
            AttributeVector c = s.getAttrValues(h, PKCS11Constants.CKA_VALUE);
            X509Certificate cert = IaikTokenKey.parseCertificate(c.value());
            subject = cert == null ? "(unparsable certificate)" : cert.getSubjectX500Principal().getName();
        }
        Pkcs11Uri uri = tokenUri().withType(type);
        if (!label.isEmpty()) {
            uri = uri.withObject(label);
        }
        if (id != null) {
            uri = uri.withId(id);
        }
        return new TokenObject(type, label, id, keyDesc, subject, sensitive, extractable, uri);
    }

    private static String keyDescription(Session s, long h, Long keyType) throws PKCS11Exception {
        if (keyType == null) {
            return "unknown";
        }
        if (keyType == PKCS11Constants.CKK_RSA) {
            BigInteger n = s.getAttrValues(h, PKCS11Constants.CKA_MODULUS).modulus();
            return "RSA " + (n == null ? "?" : n.bitLength());
        }
        if (keyType == PKCS11Constants.CKK_EC || keyType == PKCS11Constants.CKK_EC_EDWARDS) {
            String curve = Der.curveName(s.getAttrValues(h, PKCS11Constants.CKA_EC_PARAMS).ecParams());
            if (keyType == PKCS11Constants.CKK_EC_EDWARDS) {
                return "Ed25519";
            }
            return "EC " + (curve == null ? "(unknown curve)" : curve);
        }
        return PKCS11Constants.ckkCodeToName(keyType);
    }

    static long[] findObjects(Session s, AttributeVector template, int max) throws PKCS11Exception {
        s.findObjectsInit(template);
        try {
            List<Long> all = new ArrayList<>();
            while (all.size() < max) {
                long[] batch = s.findObjects(Math.min(64, max - all.size()));
                if (batch == null || batch.length == 0) {
                    break;
                }
                for (long h : batch) {
                    all.add(h);
                }
            }
            return all.stream().mapToLong(Long::longValue).toArray();
        } finally {
            s.findObjectsFinal();
        }
    }

    // ---- provisioning ----------------------------------------------------------------------

    @Override
    public TokenKey generateKeyPair(KeyType type, String label, Optional<KeyId> id, boolean overwrite) {
        return generateKeyPair(type, label, id, overwrite, KeyPolicy.standard());
    }

    /**
     * Generates a key pair with extra restrictions on the private key ({@link KeyPolicy}): a PIN
     * per signature, or a fixed CKA_ALLOWED_MECHANISMS list.
     */
    public TokenKey generateKeyPair(KeyType type, String label, Optional<KeyId> id, boolean overwrite, KeyPolicy policy) {
        requireReadWrite("generate a key pair");
        if (label == null || label.isBlank()) {
            throw new IllegalArgumentException("key label is empty: give object=NAME in the key URI");
        }
        Mechanism gen = switch (type.algorithm()) {
            case RSA -> Mechanism.CKM_RSA_PKCS_KEY_PAIR_GEN;
            case EC -> Mechanism.CKM_EC_KEY_PAIR_GEN;
            case ED25519 -> Mechanism.CKM_EC_EDWARDS_KEY_PAIR_GEN;
        };
        if (!supports(gen)) {
            throw new io.hsmtls.token.MechanismUnsupportedException(gen, label, "token '" + info.label()
                    + "' does not list it, so it cannot generate " + type + " keys; pick another key type");
        }
        byte[] idBytes = id.map(KeyId::bytes).orElseGet(() -> {
            byte[] b = new byte[16];
            RANDOM.nextBytes(b);
            return b;
        });
        return withSession("C_GenerateKeyPair " + type + " '" + label + "'", s -> {
            removeExisting(s.session, label, idBytes, overwrite, "key pair");
            // Every usage is spelled out: tokens default the unnamed ones differently (SoftHSM turns
            // on decrypt and unwrap for any private key).
            boolean rsa = type.algorithm() == KeyAlgorithm.RSA;
            AttributeVector pub = new AttributeVector().class_(CKO_PUBLIC_KEY).token(true).private_(false)
                    .verify(true).encrypt(rsa).wrap(false).derive(false).id(idBytes).label(label);
            AttributeVector priv = new AttributeVector().class_(CKO_PRIVATE_KEY).token(true).private_(true)
                    .sensitive(true).extractable(false).sign(true).decrypt(rsa).unwrap(false).derive(false)
                    .signRecover(false).id(idBytes).label(label);
            switch (type.algorithm()) {
                case RSA -> {
                    pub.keyType(PKCS11Constants.CKK_RSA).modulusBits(type.bits())
                            .publicExponent(BigInteger.valueOf(65537));
                    priv.keyType(PKCS11Constants.CKK_RSA);
                }
                case EC -> {
                    pub.keyType(PKCS11Constants.CKK_EC).ecParams(Der.oid(type.curveOid()));
                    priv.keyType(PKCS11Constants.CKK_EC);
                }
                case ED25519 -> {
                    pub.keyType(PKCS11Constants.CKK_EC_EDWARDS).ecParams(Der.oid(type.curveOid()));
                    priv.keyType(PKCS11Constants.CKK_EC_EDWARDS);
                }
            }
            if (policy.alwaysAuthenticate()) {
                priv.alwaysAuthenticate(true);
            }
            if (!policy.allowedMechanisms().isEmpty()) {
                priv.allowedMechanisms(policy.allowedMechanisms().stream().mapToLong(Mechanism::code).sorted().toArray());
            }
            PKCS11KeyPair kp = s.session.generateKeyPair(new org.xipki.pkcs11.wrapper.Mechanism(gen.code()),
                    new KeyPairTemplate(priv, pub));
            return IaikTokenKey.load(this, s, kp.getPrivateKey());
        });
    }

    /** Refuses (or, with overwrite, destroys) objects that share the label or the CKA_ID. */
    private void removeExisting(Session s, String label, byte[] id, boolean overwrite, String what) throws PKCS11Exception {
        Set<Long> found = new HashSet<>();
        for (long h : findObjects(s, new AttributeVector().label(label), 1000)) found.add(h);
        if (id != null) {
            for (long h : findObjects(s, new AttributeVector().id(id), 1000)) found.add(h);
        }
        found.removeIf(h -> !isKeyOrCert(s, h));
        if (found.isEmpty()) {
            return;
        }
        if (!overwrite) {
            List<String> desc = new ArrayList<>();
            for (long h : found) {
                TokenObject o = describeObject(s, h);
                desc.add(o == null ? "object " + h : o.type().uriValue() + " " + o.uri());
            }
            throw new ObjectExistsException(what, label, desc);
        }
        for (long h : found) {
            s.destroyObject(h);
        }
    }

    private static boolean isKeyOrCert(Session s, long h) {
        try {
            Long cls = s.getAttrValues(h, PKCS11Constants.CKA_CLASS).class_();
            return cls != null && (cls == CKO_PRIVATE_KEY || cls == CKO_PUBLIC_KEY || cls == CKO_CERTIFICATE);
        } catch (PKCS11Exception e) {
            return false;
        }
    }

    @Override
    public void storeCertificate(TokenKey key, X509Certificate certificate, boolean overwrite) {
        requireReadWrite("store a certificate");
        KeyId id = key.info().id();
        String subject = certificate.getSubjectX500Principal().getName();
        if (key.info().publicKey() == null) {
            throw new CertificateMismatchException(key.info().describe(), subject,
                    "the token holds no public key for this key (no public-key object), so the match cannot be checked");
        }
        if (!Arrays.equals(key.info().publicKey().getEncoded(), certificate.getPublicKey().getEncoded())) {
            throw new CertificateMismatchException(key.info().describe(), subject, "its public key is a different "
                    + certificate.getPublicKey().getAlgorithm() + " key");
        }
        if (id == null) {
            throw new IllegalArgumentException("key " + key.info().describe()
                    + " has no CKA_ID, so a certificate cannot be paired with it; regenerate the key with hsmtls");
        }
        byte[] der;
        try {
            der = certificate.getEncoded();
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalArgumentException("certificate '" + subject + "' cannot be encoded: " + e.getMessage(), e);
        }
        String label = key.info().label();
        withSession("C_CreateObject certificate for '" + label + "'", s -> {
            // Only an older certificate of the same key is in the way: the key pair itself stays.
            long[] old = findObjects(s.session, new AttributeVector().class_(CKO_CERTIFICATE).id(id.bytes()), 100);
            if (old.length > 0 && !overwrite) {
                throw new ObjectExistsException("certificate", label, List.of(old.length
                        + " certificate(s) with CKA_ID " + id.hex()));
            }
            for (long h : old) {
                s.session.destroyObject(h);
            }
            AttributeVector t = new AttributeVector().class_(CKO_CERTIFICATE)
                    .certificateType(PKCS11Constants.CKC_X_509).token(true).private_(false).label(label)
                    .id(id.bytes()).value(der).subject(certificate.getSubjectX500Principal().getEncoded())
                    .issuer(certificate.getIssuerX500Principal().getEncoded())
                    .serialNumber(Der.integer(certificate.getSerialNumber()));
            s.session.createObject(t);
            return null;
        });
        if (key instanceof IaikTokenKey k) {
            k.certificateStored(certificate);
        }
    }

    @Override
    public List<TokenObject> delete(Pkcs11Uri objects) {
        requireReadWrite("delete objects");
        if (!objects.namesObject()) {
            throw new IllegalArgumentException("refusing to delete by '" + objects.withoutQuery()
                    + "': it names no object; add object= and/or id=");
        }
        return withSession("C_DestroyObject", s -> {
            AttributeVector t = new AttributeVector();
            objects.object().ifPresent(t::label);
            objects.id().ifPresent(id -> t.id(id.bytes()));
            objects.type().ifPresent(type -> t.class_(switch (type) {
                case PRIVATE -> CKO_PRIVATE_KEY;
                case PUBLIC -> CKO_PUBLIC_KEY;
                case CERT -> CKO_CERTIFICATE;
                case SECRET_KEY -> PKCS11Constants.CKO_SECRET_KEY;
                case DATA -> PKCS11Constants.CKO_DATA;
            }));
            List<TokenObject> gone = new ArrayList<>();
            for (long h : findObjects(s.session, t, 1000)) {
                TokenObject o = describeObject(s.session, h);
                s.session.destroyObject(h);
                if (o != null) {
                    gone.add(o);
                }
            }
            return List.copyOf(gone);
        });
    }

    private void requireReadWrite(String what) {
        if (!options.readWrite()) {
            throw new IllegalStateException("cannot " + what + " on token '" + info.label()
                    + "': it was opened read-only; open it with TokenOptions.withReadWrite(true)");
        }
    }

    @Override
    public TokenStats stats() {
        return new TokenStats(signs.get(), decrypts.get(), userLogins.get(), contextLogins.get(), failures.get(),
                rejected.get(), reinitializations.get(), pool.open(), pool.inUse(), lane.pending(), health.up());
    }

    Duration opDeadline() {
        return options.opDeadline();
    }

    @Override
    public void close() {
        // Not the monitor recover() holds: closing must not wait for a recovery stuck in the module.
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        closed = true;
        lane.shutdown();
        pool.closeAll();
        Thread r = recoverer;
        if (r != null) {
            r.interrupt();
        }
        boolean lastLogin = false;
        if (loggedIn) {
            synchronized (LOGINS) {
                int n = LOGINS.merge(loginKey, -1, Integer::sum);
                if (n <= 0) {
                    LOGINS.remove(loginKey);
                    lastLogin = true;
                }
            }
        }
        try {
            if (lastLogin) {
                raw.C_Logout(anchor.getSessionHandle());
            }
        } catch (iaik.pkcs.pkcs11.wrapper.PKCS11Exception | RuntimeException e) {
            // Logging out of a token that is going away: nothing to do about a failure.
        }
        try {
            anchor.closeSession();
        } catch (PKCS11Exception | RuntimeException e) {
            // as above
        }
        Pin p = contextPin;
        contextPin = null;
        if (p != null) {
            p.close();
        }
        module.release();
    }

    @Override
    public String toString() {
        return "IaikToken[" + info.describe() + ", module " + module.path() + "]";
    }
}
