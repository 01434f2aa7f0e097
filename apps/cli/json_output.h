// --json on every command: a JSON object alone on stdout; everything a human reads (tables,
// progress, notes) on stderr. While a JsonOutput is on, the process's stdout (fd 1: printf,
// std::cout) is pointed at stderr, so a command's human lines need no change; emit() points it
// back and prints the object.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace cryptounet::cli {

/// Adds `--json` to `cmd` with the family's help text.
CLI::Option* add_json_flag(CLI::App* cmd, bool& json);

class JsonOutput {
 public:
  /// `on`: from now on stdout goes to stderr, until emit() or destruction.
  explicit JsonOutput(bool on);
  ~JsonOutput();
  JsonOutput(const JsonOutput&) = delete;
  JsonOutput& operator=(const JsonOutput&) = delete;

  [[nodiscard]] bool on() const { return saved_fd_ >= 0 || emitted_; }
  /// The object to print (fill it whether or not --json was given; cheap).
  nlohmann::ordered_json& json() { return j_; }
  /// If on: restores stdout and prints the object (one line + newline). Once.
  void emit();

 private:
  void restore();
  int saved_fd_ = -1;
  bool emitted_ = false;
  nlohmann::ordered_json j_ = nlohmann::ordered_json::object();
};

}  // namespace cryptounet::cli
