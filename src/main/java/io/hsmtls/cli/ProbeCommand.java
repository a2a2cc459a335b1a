package io.hsmtls.cli;

import io.hsmtls.tls.bc.client.Prober;
import io.hsmtls.tls.client.ClientCandidate;
import io.hsmtls.tls.client.ProbeReport;
import io.hsmtls.tls.client.ServerVerifier;
import io.hsmtls.token.Token;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code hsmtls probe HOST:PORT}: one handshake, then every step in order. Exit 0 only when the
 * handshake completed and the server validated (or validation was explicitly skipped).
 */
@Command(name = "probe", mixinStandardHelpOptions = true,
        description = {"Make one TLS handshake to HOST:PORT, optionally with a client certificate from the token,",
                "and report each step: ClientHello, ServerHello, the server chain and its validation,",
                "the CertificateRequest, the client certificate chosen and why, token operations, Finished."},
        footer = {"", "Exit codes: 0 handshake and validation succeeded, 1 they did not, 2 usage error."})
final class ProbeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "HOST:PORT", description = "the server to probe")
    String target;

    @Mixin
    OptionalKeyOptions key;

    @Mixin
    ClientOptions client;

    @Mixin
    JsonOption json;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "10",
            description = "connect and handshake timeout (default: ${DEFAULT-VALUE})")
    int timeoutSeconds;

    @Override
    public Integer call() throws Exception {
        Io io = Io.of(spec);
        ClientOptions.HostPort hp = ClientOptions.HostPort.parse(target, "HOST:PORT");
        if (timeoutSeconds <= 0) {
            throw new IllegalArgumentException("--timeout " + timeoutSeconds + " must be positive");
        }
        ServerVerifier verifier = client.verifier(io);
        ProbeReport report;
        if (key.given()) {
            try (Token token = Tokens.open(io, key.tokenOptions(false))) {
                List<ClientCandidate> candidates = client.candidates(token, key.uri());
                ClientOptions.Prepared p = client.prepare(hp.host(), verifier, candidates);
                report = Prober.probe(hp.host(), hp.port(), p.settings(), Duration.ofSeconds(timeoutSeconds),
                        p.notes());
            }
        } else {
            ClientOptions.Prepared p = client.prepare(hp.host(), verifier, List.of());
            report = Prober.probe(hp.host(), hp.port(), p.settings(), Duration.ofSeconds(timeoutSeconds), p.notes());
        }
        io.out().print(json.enabled() ? report.toJson() + "\n" : report.toText());
        io.out().flush();
        if (report.exitCode() != 0) {
            io.err().println("hsmtls: probe " + hp + " failed: " + report.error());
            io.err().flush();
        }
        return report.exitCode();
    }
}
