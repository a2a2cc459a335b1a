package io.hsmtls.token;

/** A PKCS#11 call failed with a return code; the code is carried by name and number. */
public class TokenOperationException extends TokenException {
    private final String operation;
    private final long ckr;
    private final String ckrName;

    public TokenOperationException(String operation, long ckr, String ckrName, Throwable cause) {
        super(operation + " failed (" + ckrName + "): " + CkrClass.of(ckr).advice(), cause);
        this.operation = operation;
        this.ckr = ckr;
        this.ckrName = ckrName;
    }

    public String operation() {
        return operation;
    }

    public long ckr() {
        return ckr;
    }

    /** e.g. {@code CKR_DEVICE_ERROR}. */
    public String ckrName() {
        return ckrName;
    }

    public CkrClass ckrClass() {
        return CkrClass.of(ckr);
    }
}
