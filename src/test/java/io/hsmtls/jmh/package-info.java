/** JMH micro-benchmarks of the hot parts (token sign through the lane, the record path, the in-memory handshake); run with scripts/jmh.sh. */
package io.hsmtls.jmh;
