// TLS certificate files: a self-signed certificate is generated on first start when none is configured,
// so every TLS listener works out of the box (clients will warn until a real certificate is installed).
#pragma once

#include <string>

namespace roost {

// Creates cert_path/key_path (EC P-256, 825 days, subjectAltName = hostname) if either is missing.
// Throws std::runtime_error naming the file on failure. The key is written 0600.
void ensure_certificate(const std::string& cert_path, const std::string& key_path, const std::string& hostname);

}  // namespace roost
