package io.hsmtls.cli;

import io.hsmtls.provision.KeyProvisioning;
import io.hsmtls.provision.Pem;
import io.hsmtls.token.KeyId;
import io.hsmtls.token.KeyInfo;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code hsmtls key generate|list|delete|export-public}. */
@Command(name = "key", description = "Generate, list, delete key pairs on a token; export a public key.",
        mixinStandardHelpOptions = true,
        subcommands = {KeyCommand.Generate.class, KeyCommand.ListKeys.class, KeyCommand.Delete.class,
                KeyCommand.ExportPublic.class})
final class KeyCommand {

    @Command(name = "generate", mixinStandardHelpOptions = true,
            description = {"Generate a key pair on the token and print its URI.",
                    "The private key is sensitive and not extractable; both halves share one CKA_ID."})
    static final class Generate implements Runnable {
        @Spec
        CommandSpec spec;
        @Mixin
        KeyOptionsMixin key;
        @Option(names = "--type", required = true, paramLabel = "TYPE",
                description = "ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096 or ed25519")
        KeyType type;
        @Option(names = "--id", paramLabel = "HEX", description = "CKA_ID in hex (default: 16 random bytes)")
        KeyId id;
        @Option(names = "--force", description = "replace existing objects with the same label or id (destroys them)")
        boolean force;

        @Override
        public void run() {
            Io io = Io.of(spec);
            try (Token token = Tokens.open(io, key.tokenOptions(true))) {
                io.progress("generating " + type + " on token '" + token.info().label() + "' …");
                TokenKey k = KeyProvisioning.generate(token, key.uri(), type, Optional.ofNullable(id), force);
                io.out().println(k.uri());
            }
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List the private keys on the token, with their certificates.")
    static final class ListKeys implements Runnable {
        @Spec
        CommandSpec spec;
        @Mixin
        TokenOptionsMixin token;
        @Option(names = "--all", description = "list every object (public keys, certificates, others), not only keys")
        boolean all;
        @Mixin
        JsonOption json;

        @Override
        public void run() {
            Io io = Io.of(spec);
            try (Token t = Tokens.open(io, token.tokenOptions(false))) {
                if (all) {
                    List<TokenObject> objects = t.objects();
                    if (json.enabled()) {
                        io.out().println(Json.write(objects.stream().map(KeyCommand::toMap).toList()));
                    } else {
                        for (TokenObject o : objects) {
                            io.out().printf("%-8s %-24s id %-34s %s%n", o.type().uriValue(), o.label(),
                                    o.id() == null ? "-" : o.id().hex(),
                                    o.subject() != null ? o.subject() : o.keyDescription() == null ? "" : o.keyDescription());
                        }
                    }
                    return;
                }
                List<TokenKey> keys = t.keys();
                if (json.enabled()) {
                    io.out().println(Json.write(keys.stream().map(KeyCommand::toMap).toList()));
                    return;
                }
                if (keys.isEmpty()) {
                    io.out().println("no private keys on token '" + t.info().label()
                            + "' (make one with 'hsmtls key generate')");
                }
                for (TokenKey k : keys) {
                    KeyInfo i = k.info();
                    io.out().println(k.uri());
                    io.out().printf("  %s%s, %s, %s%n", i.algorithm(), i.curve() != null ? " " + i.curve() : " " + i.bits(),
                            i.sensitive() ? "sensitive" : "NOT sensitive",
                            i.extractable() ? "EXTRACTABLE" : "not extractable");
                    io.out().println("  certificate: " + k.certificate()
                            .map(c -> c.getSubjectX500Principal().getName()).orElse("none"));
                }
            }
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true,
            description = "Delete a key pair and its certificate (every object with the key's CKA_ID).")
    static final class Delete implements Runnable {
        @Spec
        CommandSpec spec;
        @Mixin
        KeyOptionsMixin key;
        @Option(names = {"-y", "--yes"}, description = "do not ask; needed when no terminal is attached")
        boolean yes;

        @Override
        public void run() {
            Io io = Io.of(spec);
            if (!key.uri().namesObject()) {
                throw new IllegalArgumentException("key URI '" + key.uri().withoutQuery()
                        + "' names no object: add ;object=NAME or ;id=… to say which key to delete");
            }
            if (!yes && !io.interactive()) {
                // Fail before opening the token: nothing to ask on, and deleting a key cannot be undone.
                throw new OperationFailedException("not deleting '" + key.uri().withoutQuery()
                        + "': no terminal to confirm on; add --yes to delete without asking");
            }
            try (Token t = Tokens.open(io, key.tokenOptions(true))) {
                TokenKey k = t.key(key.uri());
                if (!yes && !confirm(io, "delete key " + k.info().describe() + " with its public key and certificate "
                        + "from token '" + t.info().label() + "'? This cannot be undone. [y/N] ")) {
                    throw new OperationFailedException("key " + k.info().describe() + " not deleted: not confirmed");
                }
                List<TokenObject> gone = KeyProvisioning.delete(t, k);
                for (TokenObject o : gone) {
                    io.err().println("deleted " + o.type().uriValue() + " '" + o.label() + "' (id "
                            + (o.id() == null ? "-" : o.id().hex()) + ")");
                }
            }
        }
    }

    @Command(name = "export-public", mixinStandardHelpOptions = true,
            description = "Print the key's public key as PEM (SubjectPublicKeyInfo). The private key stays on the token.")
    static final class ExportPublic implements Runnable {
        @Spec
        CommandSpec spec;
        @Mixin
        KeyOptionsMixin key;
        @Option(names = "--out", paramLabel = "FILE", description = "write to FILE instead of standard output")
        Path out;

        @Override
        public void run() {
            Io io = Io.of(spec);
            try (Token t = Tokens.open(io, key.tokenOptions(false))) {
                String pem = Pem.publicKey(t.key(key.uri()).info().publicKey());
                write(io, out, pem);
            }
        }
    }

    /** Writes to the file, or to standard output when none is given. */
    static void write(Io io, Path file, String text) {
        if (file == null) {
            io.out().print(text);
            io.out().flush();
            return;
        }
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static boolean confirm(Io io, String question) {
        io.err().print(question);
        io.err().flush();
        StringBuilder line = new StringBuilder();
        try {
            int c;
            while ((c = io.in().read()) != -1 && c != '\n') {
                line.append((char) c);
            }
        } catch (IOException e) {
            return false;
        }
        String a = line.toString().strip();
        return a.equalsIgnoreCase("y") || a.equalsIgnoreCase("yes");
    }

    static Map<String, Object> toMap(TokenKey k) {
        KeyInfo i = k.info();
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("uri", k.uri().toString());
        o.put("label", i.label());
        o.put("id", i.id() == null ? null : i.id().hex());
        o.put("algorithm", i.algorithm().name());
        o.put("bits", i.bits());
        o.put("curve", i.curve());
        o.put("sensitive", i.sensitive());
        o.put("extractable", i.extractable());
        o.put("alwaysAuthenticate", i.alwaysAuthenticate());
        o.put("canSign", i.canSign());
        o.put("canDecrypt", i.canDecrypt());
        o.put("signatureSchemes", new TreeSet<>(k.signatureSchemes().stream().map(s -> s.tlsName()).toList()));
        o.put("certificate", k.certificate().map(c -> c.getSubjectX500Principal().getName()).orElse(null));
        return o;
    }

    static Map<String, Object> toMap(TokenObject t) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("type", t.type().uriValue());
        o.put("label", t.label());
        o.put("id", t.id() == null ? null : t.id().hex());
        o.put("key", t.keyDescription());
        o.put("subject", t.subject());
        o.put("sensitive", t.sensitive());
        o.put("extractable", t.extractable());
        o.put("uri", t.uri() == null ? null : t.uri().toString());
        return o;
    }
}
