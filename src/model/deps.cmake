# The model card reader (model_card.cpp) parses JSON.
target_link_libraries(${target} ${scope} nlohmann_json::nlohmann_json)
