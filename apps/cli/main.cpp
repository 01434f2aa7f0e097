// Entry point of `cryptounet`: builds the CLI11 app from the registered subcommands, runs the
// chosen one and turns every cryptounet::Error into a one-line message and a non-zero exit.
#include "cli/command.h"

#include "cryptounet/common/error.h"

#include <algorithm>
#include <cstdio>
#include <exception>

namespace cryptounet::cli {

std::vector<CommandEntry>& command_registry() {
  static std::vector<CommandEntry> registry;
  return registry;
}

CLI::App* subcommand_group(CLI::App& parent, const std::string& name,
                           const std::string& description) {
  for (CLI::App* sub : parent.get_subcommands([](CLI::App*) { return true; }))
    if (sub->get_name() == name) return sub;
  CLI::App* sub = parent.add_subcommand(name, description);
  sub->require_subcommand(1);
  return sub;
}

}  // namespace cryptounet::cli

int main(int argc, char** argv) {
  using namespace cryptounet;
  CLI::App app{
      "CryptoUNet: U-Net segmentation of CKKS-encrypted medical images.\n"
      "The client (hospital) keeps the secret key; the server only ever sees ciphertexts."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cryptounet 0.1.0");
  auto& registry = cli::command_registry();
  std::sort(registry.begin(), registry.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  for (auto& entry : registry) entry.setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
