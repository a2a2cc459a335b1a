/**
 * Configuration files: YAML read into a tree, validated into records (listeners, backends, limits),
 * with every problem reported at once (file, path, value). JDK and snakeyaml-engine only.
 */
package io.hsmtls.config;
