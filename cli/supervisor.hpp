// `roost up`: a small master process (like Postfix's master) that runs every daemon as a child,
// restarts one that dies with exponential back-off, forwards SIGTERM/SIGINT, and exits when all stopped.
#pragma once

#include <string>

#include "common/core/config.hpp"

namespace roost::cli {

int supervise(const std::string& argv0, const std::string& config_path, const Config& config);

}  // namespace roost::cli
