// Turns `cryptounet serve --model PATH` arguments into ModelServices. The one place where the
// real encrypted executor gets wired into the server.
#pragma once

#include "server/model_service.h"

#include <memory>
#include <string>
#include <vector>

namespace cryptounet::server {

/// One ModelService per model file (ONNX + its plan). Throws Unsupported until the encrypted
/// executor is wired in (see the TODO in model_loader.cpp), FormatError for bad model files.
std::vector<std::shared_ptr<const ModelService>> load_model_services(
    const std::vector<std::string>& model_paths);

}  // namespace cryptounet::server
