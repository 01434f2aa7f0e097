// Subcommand registry of the `cryptounet` CLI. Each cmd_*.cpp file defines a function that adds
// its subcommand to the CLI11 app and registers it with a static Registrar, so commands live in
// their own files and main.cpp never changes when one is added.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace cryptounet::cli {

using CommandSetup = std::function<void(CLI::App& root)>;

struct CommandEntry {
  std::string name;  // for ordering and diagnostics only
  CommandSetup setup;
};

std::vector<CommandEntry>& command_registry();

/// `static Registrar reg("predict", &setup_predict);` in a cmd_*.cpp file.
struct Registrar {
  Registrar(std::string name, CommandSetup setup) {
    command_registry().push_back({std::move(name), std::move(setup)});
  }
};

/// Returns the subcommand `name` of `parent`, adding it (with `description`) if it is new; lets
/// several files add children to one group, e.g. `bench ckks` and `bench model`.
CLI::App* subcommand_group(CLI::App& parent, const std::string& name,
                           const std::string& description);

}  // namespace cryptounet::cli
