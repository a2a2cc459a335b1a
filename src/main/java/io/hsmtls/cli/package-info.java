/**
 * The {@code hsmtls} command line: picocli commands that parse arguments, call the library and
 * map its exceptions to exit codes in one place ({@link io.hsmtls.cli.Main}); nothing imports it.
 */
package io.hsmtls.cli;
