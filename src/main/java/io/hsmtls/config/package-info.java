/** Validated configuration records for the commands (listeners, backends, limits). */
package io.hsmtls.config;
