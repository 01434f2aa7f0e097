# PNG/JPEG reading and writing through Debian's libstb-dev (header-only use via pkg-config).
target_link_libraries(${target} ${scope} nlohmann_json::nlohmann_json PkgConfig::STB)
