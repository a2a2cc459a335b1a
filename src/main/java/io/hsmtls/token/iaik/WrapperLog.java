package io.hsmtls.token.iaik;

import java.lang.System.Logger.Level;
import org.xipki.pkcs11.wrapper.Logger;
import org.xipki.pkcs11.wrapper.StaticLogger;

/**
 * Routes the wrapper's own log lines to {@link System.Logger}. Without a logger the wrapper prints
 * INFO/WARN/ERROR to standard output, which would corrupt {@code --json} output. Debug and trace
 * stay off: the wrapper's trace dumps object attributes.
 */
final class WrapperLog implements Logger {
    private static final System.Logger LOG = System.getLogger("io.hsmtls.token.iaik.wrapper");
    private static volatile boolean installed;

    static synchronized void install() {
        if (!installed) {
            StaticLogger.setLogger(new WrapperLog());
            installed = true;
        }
    }

    @Override
    public void info(String format, Object... args) {
        LOG.log(Level.DEBUG, () -> format(format, args));
    }

    @Override
    public void warn(String format, Object... args) {
        LOG.log(Level.WARNING, () -> format(format, args));
    }

    @Override
    public void error(String format, Object... args) {
        LOG.log(Level.WARNING, () -> format(format, args));
    }

    @Override
    public void debug(String format, Object... args) {
    }

    @Override
    public void trace(String format, Object... args) {
    }

    @Override
    public boolean isDebugEnabled() {
        return false;
    }

    @Override
    public boolean isInfoEnabled() {
        return LOG.isLoggable(Level.DEBUG);
    }

    @Override
    public boolean isWarnEnabled() {
        return LOG.isLoggable(Level.WARNING);
    }

    @Override
    public boolean isTraceEnabled() {
        return false;
    }

    private static String format(String f, Object... args) {
        StringBuilder sb = new StringBuilder();
        int a = 0;
        int i = 0;
        while (i < f.length()) {
            int j = f.indexOf("{}", i);
            if (j < 0 || args == null || a >= args.length) {
                sb.append(f, i, f.length());
                break;
            }
            sb.append(f, i, j).append(args[a++]);
            i = j + 2;
        }
        return sb.toString();
    }
}
