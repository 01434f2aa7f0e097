# Plan and key files are JSON (plan_io.cpp, he_files.cpp).
target_link_libraries(${target} ${scope} nlohmann_json::nlohmann_json)
