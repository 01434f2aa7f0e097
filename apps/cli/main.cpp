// Entry point of `cryptounet`: builds the CLI11 app from the registered subcommands, runs the
// chosen one and turns every cryptounet::Error into a one-line message and a non-zero exit.
#include "cli/command.h"
#include "cli/huge_page_heap.h"
#include "cli/options.h"

#include "cryptounet/common/error.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

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

namespace {

using namespace cryptounet;

std::vector<CLI::App*> children(CLI::App* app) {
  return app->get_subcommands([](CLI::App*) { return true; });
}

bool takes_positionals(CLI::App* app) {
  return !app->get_options([](const CLI::Option* o) { return o->get_positional(); }).empty();
}

/// Edit distance (insert, delete, substitute, swap of neighbours), for "did you mean".
std::size_t distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

/// "'segmnet' is not a command of `cryptounet`; did you mean 'segment'?" and the list of commands.
int unknown_command(CLI::App* parent, const std::string& path, const std::string& word) {
  std::string best;
  std::size_t best_d = 0;
  std::string names;
  std::vector<std::string> candidates;
  for (CLI::App* sub : children(parent)) candidates.push_back(sub->get_name());
  if (parent->get_parent() == nullptr) candidates.push_back("help");
  for (const std::string& name : candidates) {
    names += (names.empty() ? "" : ", ") + name;
    std::size_t d = distance(word, name);
    if (name.rfind(word, 0) == 0 || word.rfind(name, 0) == 0) d = std::min<std::size_t>(d, 1);
    if (best.empty() || d < best_d) {
      best = name;
      best_d = d;
    }
  }
  std::fprintf(stderr, "error: '%s' is not a command of `%s`", word.c_str(), path.c_str());
  if (!best.empty() && best_d <= std::max<std::size_t>(2, best.size() / 3))
    std::fprintf(stderr, "; did you mean '%s'?", best.c_str());
  std::fprintf(stderr, "\ncommands: %s\n`%s --help` describes them\n", names.c_str(), path.c_str());
  return 2;
}

/// Handles what CLI11 would answer with only "A subcommand is required": no command, `help
/// [COMMAND...]`, and a word that is not a command. Returns -1 when argv is for CLI11 to parse.
int help_or_typo(CLI::App& app, int argc, char** argv) {
  std::vector<std::string> words(argv + 1, argv + argc);
  bool help = false;
  if (!words.empty() && words[0] == "help") {
    help = true;
    words.erase(words.begin());
  }
  CLI::App* cur = &app;
  std::string path = "cryptounet";
  std::size_t consumed = 0;
  for (const std::string& w : words) {
    if (w.empty() || w[0] == '-') break;
    CLI::App* next = nullptr;
    for (CLI::App* sub : children(cur))
      if (sub->get_name() == w) next = sub;
    if (next == nullptr) {
      if (children(cur).empty() || takes_positionals(cur)) break;
      return unknown_command(cur, path, w);
    }
    cur = next;
    path += " " + w;
    ++consumed;
  }
  if (help) {
    std::printf("%s", cur->help().c_str());
    return 0;
  }
  // `cryptounet` or a group (`cryptounet bench`) with nothing after it: its commands, exit 1.
  if (!children(cur).empty() && consumed == words.size()) {
    std::printf("%s", cur->help().c_str());
    return 1;
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  cli::reexec_with_huge_page_heap(argv);
  cli::configure_first_touch();
  CLI::App app{
      "CryptoUNet: U-Net segmentation of CKKS-encrypted medical images.\n"
      "The client (hospital) keeps the secret key; the server only ever sees ciphertexts.\n"
      "`cryptounet help COMMAND` or `cryptounet COMMAND --help` explains one command."};
  app.name("cryptounet");
  app.require_subcommand(1);
  app.set_version_flag("--version", "cryptounet 0.1.0");
  auto& registry = cli::command_registry();
  std::sort(registry.begin(), registry.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  for (auto& entry : registry) entry.setup(app);
  if (const int rc = help_or_typo(app, argc, argv); rc >= 0) return rc;
  // `--insecure-test-params 13` (the old spelling) parses as `--insecure-test-params=13`.
  std::vector<std::string> args = cli::join_insecure_value(argc, argv);
  std::vector<char*> arg_ptrs;
  for (std::string& s : args) arg_ptrs.push_back(s.data());
  try {
    app.parse(static_cast<int>(arg_ptrs.size()), arg_ptrs.data());
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
