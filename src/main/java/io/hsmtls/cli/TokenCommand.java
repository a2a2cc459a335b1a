package io.hsmtls.cli;

import io.hsmtls.token.MechanismInfo;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.TokenInfo;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code hsmtls token list|mechanisms}: what the module shows, without logging in. */
@Command(name = "token", description = "List slots and tokens, and the mechanisms a token offers.",
        mixinStandardHelpOptions = true,
        subcommands = {TokenCommand.ListTokens.class, TokenCommand.Mechanisms.class})
final class TokenCommand {

    @Command(name = "list", description = "List slots and their tokens: label, serial, flags, sessions.",
            mixinStandardHelpOptions = true)
    static final class ListTokens implements Runnable {
        @Spec
        CommandSpec spec;
        @Mixin
        TokenOptionsMixin token;
        @Mixin
        JsonOption json;

        @Override
        public void run() {
            Io io = Io.of(spec);
            List<TokenInfo> infos = Tokens.list(token.tokenOptions(false));
            if (json.enabled()) {
                io.out().println(Json.write(infos.stream().map(TokenCommand::toMap).toList()));
                return;
            }
            if (infos.isEmpty()) {
                io.out().println("no slots");
            }
            for (TokenInfo t : infos) {
                io.out().printf("slot %d: %s%n", t.slotId(), t.slotDescription().strip());
                if (!t.tokenPresent()) {
                    io.out().println("  no token present");
                    continue;
                }
                if (!t.flags().contains("CKF_TOKEN_INITIALIZED")) {
                    io.out().println("  token not initialised (softhsm2-util --init-token, or the vendor's tool)");
                    continue;
                }
                io.out().printf("  token:        %s%n", t.label());
                io.out().printf("  manufacturer: %s%n", t.manufacturer());
                io.out().printf("  model:        %s%n", t.model());
                io.out().printf("  serial:       %s%n", t.serial());
                io.out().printf("  flags:        %s%n", String.join(" ", new TreeSet<>(t.flags())));
                io.out().printf("  sessions:     %s of %s open (read-write %s of %s)%n", count(t.sessionCount()),
                        count(t.maxSessions()), count(t.rwSessionCount()), count(t.maxRwSessions()));
                io.out().printf("  uri:          %s%n", uri(t));
            }
        }
    }

    @Command(name = "mechanisms", description = "List the mechanisms the token offers, with key sizes and flags.",
            mixinStandardHelpOptions = true)
    static final class Mechanisms implements Runnable {
        @Spec
        CommandSpec spec;
        @Mixin
        TokenOptionsMixin token;
        @Mixin
        JsonOption json;

        @Override
        public void run() {
            Io io = Io.of(spec);
            List<MechanismInfo> ms = Tokens.mechanisms(token.tokenOptions(false));
            if (json.enabled()) {
                io.out().println(Json.write(ms.stream().map(m -> {
                    Map<String, Object> o = new LinkedHashMap<>();
                    o.put("name", m.name());
                    o.put("code", String.format("0x%08x", m.code()));
                    o.put("minKeySize", m.minKeySize());
                    o.put("maxKeySize", m.maxKeySize());
                    o.put("flags", new TreeSet<>(m.flags()));
                    return o;
                }).toList()));
                return;
            }
            for (MechanismInfo m : ms) {
                io.out().printf("%-32s keys %5d..%-5d %s%n", m.name(), m.minKeySize(), m.maxKeySize(),
                        String.join(" ", new TreeSet<>(m.flags())));
            }
        }
    }

    /** PKCS#11 uses CK_UNAVAILABLE_INFORMATION (all ones) and CK_EFFECTIVELY_INFINITE (0) here. */
    private static String count(long n) {
        if (n == -1L || n == 0xFFFFFFFFL) {
            return "?";
        }
        return n == 0 ? "unlimited" : Long.toString(n);
    }

    /** The URI that selects this token: label and serial, so two tokens with one label stay apart. */
    static String uri(TokenInfo t) {
        return Pkcs11Uri.any().withToken(t.label()).withSerial(t.serial()).toString();
    }

    static Map<String, Object> toMap(TokenInfo t) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("slotId", t.slotId());
        o.put("slotDescription", t.slotDescription().strip());
        o.put("tokenPresent", t.tokenPresent());
        if (t.tokenPresent()) {
            o.put("label", t.label());
            o.put("manufacturer", t.manufacturer());
            o.put("model", t.model());
            o.put("serial", t.serial());
            o.put("flags", new TreeSet<>(t.flags()));
            o.put("sessionCount", t.sessionCount());
            o.put("maxSessions", t.maxSessions());
            o.put("rwSessionCount", t.rwSessionCount());
            o.put("maxRwSessions", t.maxRwSessions());
            o.put("uri", uri(t));
        }
        return o;
    }
}
