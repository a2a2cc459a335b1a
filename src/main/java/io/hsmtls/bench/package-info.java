/**
 * The benchmark harness: one TLS load generator for every server under test, server CPU and memory
 * read from /proc, and the min/median/max table that {@code scripts/bench.sh} prints.
 */
package io.hsmtls.bench;
