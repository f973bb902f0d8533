// libFuzzer entry point for the TOML configuration loader (common/core/config.cpp: toml++ and Roost's key
// table). Input: configuration text. Invariant: parse_config either returns a Config or throws
// ConfigError with a message — never another exception, a crash or UB; a Config it returns has sane limits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/core/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        auto cfg = roost::parse_config(text, "fuzz.toml", /*env=*/false);
        if (cfg.data_dir.empty()) std::abort();
    } catch (const roost::ConfigError& e) {
        if (std::string_view(e.what()).empty()) std::abort();
    } catch (...) {
        std::abort();
    }
    return 0;
}
