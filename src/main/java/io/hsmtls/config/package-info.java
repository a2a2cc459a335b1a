/**
 * Configuration: YAML files read into a tree ({@link io.hsmtls.config.ConfigNode}) and validated into
 * records (listeners, backends, limits, SNI keys), with every problem reported at once with its
 * file, path and value.
 */
package io.hsmtls.config;
